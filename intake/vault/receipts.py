"""Signed deletion receipts: build, sign, and verify offline.

A receipt file is ``{"receipt": {...}, "signature": {"alg", "key_id", "value"}}``.
The signature covers a domain-separation line plus the canonical JSON of
``receipt`` (sorted keys, no whitespace), so the same platform key signing a
report can never be mistaken for signing a receipt, and re-indenting the file
does not break it while changing any value does.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from intake.audit import canonical_json
from intake.signing import ALGORITHM, PublishedKey, SignatureInvalid, parse_time, sign, verify

RECEIPT_TYPE = "assay.deletion-receipt/v1"
DOMAIN = b"assay-deletion-receipt/v1\n"
REQUIRED = ("type", "receipt_id", "case_reference", "issued_at", "method", "artifacts", "data_keys_destroyed")


def signing_bytes(receipt: dict) -> bytes:
    return DOMAIN + canonical_json(receipt)


def receipt_sign(receipt: dict) -> dict:
    key_id, signature = sign(signing_bytes(receipt))
    return {"receipt": receipt,
            "signature": {"alg": ALGORITHM, "key_id": key_id, "value": base64.b64encode(signature).decode()}}


@dataclass(frozen=True)
class ReceiptCheck:
    receipt: dict
    key: PublishedKey

    @property
    def summary(self) -> str:
        r = self.receipt
        return (f"valid deletion receipt {r['receipt_id']} for case {r['case_reference']}: "
                f"{len(r['artifacts'])} artifact(s), {len(r['data_keys_destroyed'])} data key(s) destroyed "
                f"by {r['method'].split(':', 1)[0]} at {r['issued_at']}, signed by {self.key.key_id}")


def receipt_verify(document: object, *, keys: list[PublishedKey]) -> ReceiptCheck:
    """Verify a parsed receipt file against published keys; raise SignatureInvalid naming the problem."""
    if not isinstance(document, dict) or not isinstance(document.get("receipt"), dict) \
            or not isinstance(document.get("signature"), dict):
        raise SignatureInvalid("not a deletion receipt: expected {\"receipt\": …, \"signature\": …}")
    receipt, signature = document["receipt"], document["signature"]
    if receipt.get("type") != RECEIPT_TYPE:
        raise SignatureInvalid(f"not a deletion receipt: type is not {RECEIPT_TYPE}")
    missing = [name for name in REQUIRED if name not in receipt]
    if missing:
        raise SignatureInvalid(f"receipt is missing {', '.join(missing)}")
    if signature.get("alg") != ALGORITHM:
        raise SignatureInvalid(f"unsupported signature algorithm {signature.get('alg')!r}")
    try:
        raw = base64.b64decode(str(signature.get("value", "")), validate=True)
        issued_at = parse_time(str(receipt["issued_at"]))
    except (binascii.Error, ValueError):
        raise SignatureInvalid("receipt signature or issue time is malformed") from None
    if not isinstance(receipt["artifacts"], list) or not isinstance(receipt["data_keys_destroyed"], list):
        raise SignatureInvalid("receipt artifacts and data_keys_destroyed must be lists")
    key = verify(signing_bytes(receipt), key_id=str(signature.get("key_id", "")), signature=raw, keys=keys,
                 signed_at=issued_at)
    return ReceiptCheck(receipt=receipt, key=key)


def receipt_verify_file(path: str, *, keys: list[PublishedKey]) -> ReceiptCheck:
    try:
        with open(path, "rb") as handle:
            document = json.loads(handle.read(1024 * 1024 + 1))
    except FileNotFoundError:
        raise SignatureInvalid(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SignatureInvalid(f"cannot read receipt: {exc.__class__.__name__}") from None
    return receipt_verify(document, keys=keys)
