"""Signed PDF containers for reports.

Issue: render the PDF (WeasyPrint, tagged PDF/UA), put the SHA-256 and length
of those exact bytes into the statement, sign the statement, then append the
statement and signature as attachments in one PDF incremental update. The
original bytes stay a byte-exact prefix of the file.

Verify: read the attachments, check the signature over the statement, check
the prefix against the statement's hash, and check that the appended update
changed nothing but the attachment names (no page, font or content object of
the signed prefix was redefined).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

STATEMENT_NAME = "assay-statement.json"
SIGNATURE_NAME = "assay-signature.json"
MAX_REPORT_BYTES = 20 * 1024 * 1024


class ContainerInvalid(Exception):
    """The file is not an intact Assay report container; the message says why."""


def canonical(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def embed(*, pdf: bytes, statement_bytes: bytes, key_id: str, signature: bytes) -> bytes:
    """Append the statement and signature as attachments in one incremental update (signed bytes untouched).

    Written directly rather than through a PDF writer: only the catalog is re-issued (with /Names added) plus
    six new objects and a cross-reference stream, so the cost does not grow with the report's size.
    """
    reader = PdfReader(io.BytesIO(pdf))
    root_ref = reader.trailer.raw_get("/Root")
    size = int(reader.trailer["/Size"])
    prev = _startxref(pdf)
    signature_doc = canonical({"alg": "Ed25519", "key_id": key_id, "signature": base64.b64encode(signature).decode()})
    ids = {name: size + offset for offset, name in enumerate(
        ["statement_file", "statement_spec", "signature_file", "signature_spec", "tree", "names", "xref"])}
    out = io.BytesIO()
    out.write(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets: dict[int, int] = {}

    def obj(number: int, body: bytes) -> None:
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    def stream(number: int, data: bytes, extra: bytes = b"/Type /EmbeddedFile") -> None:
        obj(number, b"<< " + extra + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")

    def filespec(number: int, name: str, file_number: int) -> None:
        literal = name.encode()  # our fixed ASCII names need no escaping
        obj(number, b"<< /Type /Filespec /F (" + literal + b") /UF (" + literal + b") /AFRelationship /Data"
                    b" /EF << /F %d 0 R >> >>" % file_number)

    stream(ids["statement_file"], statement_bytes)
    filespec(ids["statement_spec"], STATEMENT_NAME, ids["statement_file"])
    stream(ids["signature_file"], signature_doc)
    filespec(ids["signature_spec"], SIGNATURE_NAME, ids["signature_file"])
    # Name trees are sorted: "assay-signature.json" < "assay-statement.json".
    obj(ids["tree"], b"<< /Names [(" + SIGNATURE_NAME.encode() + b") %d 0 R (" % ids["signature_spec"]
        + STATEMENT_NAME.encode() + b") %d 0 R] >>" % ids["statement_spec"])
    obj(ids["names"], b"<< /EmbeddedFiles %d 0 R >>" % ids["tree"])
    catalog = DictionaryObject(reader.trailer["/Root"].get_object())
    catalog[NameObject("/Names")] = IndirectObject(ids["names"], 0, reader)
    body = io.BytesIO()
    catalog.write_to_stream(body)
    obj(root_ref.idnum, body.getvalue())
    offsets[ids["xref"]] = out.tell()
    entries = sorted(offsets.items())
    rows = b"".join(struct.pack(">BIH", 1, offset, 0) for _, offset in entries)
    index = b" ".join(b"%d 1" % number for number, _ in entries)
    trailer = b"/Type /XRef /Size %d /Root %d %d R /Prev %d /W [1 4 2] /Index [%s]" % (
        ids["xref"] + 1, root_ref.idnum, root_ref.generation, prev, index)
    for key in ("/Info", "/ID"):
        if key in reader.trailer:
            value = io.BytesIO()
            reader.trailer.raw_get(key).write_to_stream(value)
            trailer += b" " + key.encode() + b" " + value.getvalue()
    out.write(b"%d 0 obj\n<< " % ids["xref"] + trailer + b" /Length %d >>\nstream\n" % len(rows) + rows
              + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % offsets[ids["xref"]])
    signed = out.getvalue()
    if not signed.startswith(pdf):
        raise RuntimeError("incremental update did not preserve the signed bytes")
    return signed


def _startxref(pdf: bytes) -> int:
    marker = pdf.rfind(b"startxref")
    if marker < 0:
        raise ValueError("not a complete PDF: no startxref")
    return int(pdf[marker + len(b"startxref"):].split()[0])


@dataclass(frozen=True)
class Extracted:
    statement_bytes: bytes
    statement: dict
    key_id: str
    signature: bytes
    prefix: bytes


def _attachment(reader: PdfReader, name: str) -> bytes:
    found = reader.attachments.get(name)
    if not found or len(found) != 1:
        raise ContainerInvalid(f"the report has no single {name} attachment")
    return found[0]


def extract(data: bytes) -> Extracted:
    if len(data) > MAX_REPORT_BYTES or not data.startswith(b"%PDF-"):
        raise ContainerInvalid("not a PDF report")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        statement_bytes = _attachment(reader, STATEMENT_NAME)
        signature_doc = json.loads(_attachment(reader, SIGNATURE_NAME))
        statement = json.loads(statement_bytes)
        key_id = signature_doc["key_id"]
        signature = base64.b64decode(signature_doc["signature"], validate=True)
        pdf_info = statement["predicate"]["pdf"]
        length, digest = int(pdf_info["length"]), pdf_info["sha256"]
    except ContainerInvalid:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ContainerInvalid("the report's embedded statement or signature is unreadable") from exc
    if not 0 < length < len(data):
        raise ContainerInvalid("the signed document length does not fit the file")
    prefix = data[:length]
    if hashlib.sha256(prefix).hexdigest() != digest:
        raise ContainerInvalid("the PDF content was modified after signing")
    _check_update_only_adds_attachments(prefix, data)
    return Extracted(statement_bytes, statement, key_id, signature, prefix)


def _stable(value) -> str:  # noqa: ANN001
    """A serialisation of a PDF object that names references by number instead of resolving them."""
    if isinstance(value, IndirectObject):
        return f"R{value.idnum}.{value.generation}"
    if isinstance(value, DictionaryObject):
        return "{" + ",".join(f"{k}:{_stable(value.raw_get(k))}" for k in sorted(value.keys())) + "}"
    if isinstance(value, ArrayObject):
        return "[" + ",".join(_stable(item) for item in value) + "]"
    return repr(value)


def _locations(reader: PdfReader) -> dict[int, tuple]:
    """Where each object's current definition lives: a byte offset, or a slot in an object stream."""
    places: dict[int, tuple] = {}
    for generation, table in reader.xref.items():
        for idnum, offset in table.items():
            places[idnum] = ("offset", generation, offset)
    for idnum, slot in reader.xref_objStm.items():
        places[idnum] = ("stream", *slot)
    return places


def _check_update_only_adds_attachments(prefix: bytes, full: bytes) -> None:
    try:
        before = PdfReader(io.BytesIO(prefix), strict=False)
        after = PdfReader(io.BytesIO(full), strict=False)
        if full[len(prefix):].count(b"%%EOF") != 1:
            raise ContainerInvalid("the PDF was changed after signing (extra update sections)")
        root_before = before.trailer["/Root"].get_object()
        root_after = after.trailer["/Root"].get_object()
        if set(root_after.keys()) - {"/Names"} != set(root_before.keys()) - {"/Names"}:
            raise ContainerInvalid("the PDF catalog was changed after signing")
        for key in root_before.keys():
            if key != "/Names" and _stable(root_before.raw_get(key)) != _stable(root_after.raw_get(key)):
                raise ContainerInvalid("the PDF catalog was changed after signing")
        # Bytes of the prefix are authenticated, so an object can only change by being redefined in the
        # appended section: every object of the signed prefix (but the catalog, checked above) must still
        # resolve to the same place in the file.
        catalog_id = before.trailer.raw_get("/Root").idnum
        old_places, new_places = _locations(before), _locations(after)
        for idnum, place in old_places.items():
            if idnum not in (0, catalog_id) and new_places.get(idnum) != place:
                raise ContainerInvalid(f"PDF object {idnum} was changed after signing")
    except ContainerInvalid:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ContainerInvalid("the PDF structure is damaged") from exc
