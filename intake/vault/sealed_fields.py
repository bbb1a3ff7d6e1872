"""Sealed model fields: submitted text kept in the database only as AES-256-GCM ciphertext under the case's key.

Each case has one data key (intake.vault.models.CaseKey), made and wrapped by the vault's key provider exactly
like an artifact's. A sealed field stores ``assay-sealed/v1:<case id>:<base64(nonce | ciphertext)>``; the
associated data binds the case id and the model field, so a value cannot be replayed into another field or
passed off as another case's. Writes seal in ``pre_save`` (the instance names its case); reads open in
``from_db_value``. Once the case is shredded its key is gone, shredding rewrites the live columns to
:data:`SHREDDED_TOKEN`, and reads give a clear placeholder (``[shredded]``, or an empty list or mapping for
structured fields), never an exception.

Writes that bypass ``save()`` (``QuerySet.update``, lookups) cannot know the case and are refused, so clear
text can never reach a sealed column by accident; only ready-made tokens pass.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from intake.vault.errors import IntegrityFailure, KeyDestroyed, VaultError

PREFIX = "assay-sealed/v1:"
SHREDDED_TOKEN = PREFIX + "shredded"
SHREDDED_TEXT = "[shredded]"
_NONCE_BYTES = 12
_CACHE_SECONDS = 300.0


def case_key_context(case_id: uuid.UUID | str) -> dict[str, str]:
    """What a case key is bound to at the key provider. Ids only: KMS logs its encryption context in clear."""
    return {"assay:case-key": str(case_id)}


class _KeyCache:
    """Unwrapped case keys for a few minutes, so a listing does not unwrap (or ask KMS) once per row.

    Safe against shredding in another process: shredding rewrites the live sealed columns to
    SHREDDED_TOKEN in the same transaction that destroys the key, so a stale entry here has nothing left to
    open but backups, and it expires.
    """

    def __init__(self) -> None:
        self._keys: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def get(self, case_id: str) -> bytes | None:
        with self._lock:
            entry = self._keys.get(case_id)
            if entry is None or entry[1] < time.monotonic():
                self._keys.pop(case_id, None)
                return None
            return entry[0]

    def put(self, case_id: str, key: bytes) -> None:
        with self._lock:
            if len(self._keys) > 4096:
                self._keys.clear()
            self._keys[case_id] = (key, time.monotonic() + _CACHE_SECONDS)

    def forget(self, case_id: str) -> None:
        with self._lock:
            self._keys.pop(case_id, None)


_cache = _KeyCache()


def _provider_for(uri: str | None = None):  # noqa: ANN202
    from intake.vault.keys import key_provider, key_provider_from_uri

    return key_provider_from_uri(uri) if uri else key_provider()


def case_key(case_id: uuid.UUID | str, *, create: bool = False) -> bytes | None:
    """The case's plaintext data key; None when it was destroyed (or, without ``create``, never made).

    With ``create`` a missing key is made and stored; a destroyed one raises KeyDestroyed, since nothing
    may be sealed for a shredded case.
    """
    from intake.vault.models import CaseKey

    case_id = str(case_id)
    cached = _cache.get(case_id)
    if cached is not None:
        return cached
    record = CaseKey.objects.filter(case_id=case_id).first()
    if record is None and create:
        record = _case_key_create(case_id)
    if record is None:
        return None
    if record.wrapped_key is None:
        if create:
            raise KeyDestroyed("this case was crypto-shredded; nothing more can be stored for it")
        return None
    key = _provider_for(record.key_provider).unwrap(wrapped=bytes(record.wrapped_key), kek_id=record.kek_id,
                                                    context=case_key_context(case_id))
    _cache.put(case_id, key)
    return key


def _case_key_create(case_id: str):  # noqa: ANN202
    from intake.vault.models import CaseKey

    provider = _provider_for()
    data_key = provider.generate_data_key(context=case_key_context(case_id))
    try:
        with transaction.atomic():
            record = CaseKey.objects.create(case_id=case_id, data_key_id="ck-" + uuid.uuid4().hex,
                                            key_provider=provider.uri, kek_id=data_key.kek_id,
                                            wrapped_key=data_key.wrapped)
    except IntegrityError:  # another writer made it first: use theirs
        return CaseKey.objects.filter(case_id=case_id).first()
    _cache.put(case_id, data_key.plaintext)
    return record


def case_key_destroy(case_id: uuid.UUID | str) -> str | None:
    """Destroy the case's key (inside the shred's transaction); returns its public id, None if it had none."""
    from intake.vault.models import CaseKey

    record = CaseKey.objects.filter(case_id=str(case_id)).first()
    _cache.forget(str(case_id))
    if record is None:
        return None
    CaseKey.objects.filter(pk=record.pk).update(wrapped_key=None, key_destroyed_at=timezone.now())
    # Forget again once committed: a reader in this process may have re-cached it meanwhile.
    transaction.on_commit(lambda: _cache.forget(str(case_id)))
    return record.data_key_id


def _aad(case_id: str, label: str) -> bytes:
    return f"assay-sealed/v1\n{case_id}\n{label}".encode()


def seal_text(plaintext: str, *, case_id: uuid.UUID | str, label: str) -> str:
    case_id = str(uuid.UUID(str(case_id)))
    key = case_key(case_id, create=True)
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), _aad(case_id, label))
    return f"{PREFIX}{case_id}:{base64.b64encode(nonce + sealed).decode()}"


def is_token(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def open_text(token: str, *, label: str) -> str | None:
    """The plaintext of ``token``; None once its case is shredded. Raises IntegrityFailure on tampering."""
    if token == SHREDDED_TOKEN:
        return None
    case_id, _, body = token[len(PREFIX):].partition(":")
    try:
        raw = base64.b64decode(body, validate=True)
        uuid.UUID(case_id)
    except ValueError:
        raise IntegrityFailure("sealed value is malformed") from None
    key = case_key(case_id)
    if key is None:
        return None
    try:
        return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _aad(case_id, label)).decode()
    except (InvalidTag, ValueError):
        raise IntegrityFailure("sealed value does not open (tampered, or moved from another field)") from None


def _case_id_of(instance: models.Model, path: str) -> Any:
    value: Any = instance
    for part in path.split("."):
        value = getattr(value, part)
    return value


class SealedField:
    """Shared by the text and JSON variants: storage is always a text column holding a token."""

    def __init__(self, *args: Any, case_attr: str = "submission_id", **kwargs: Any):
        self.case_attr = case_attr
        super().__init__(*args, **kwargs)

    def deconstruct(self):  # noqa: ANN201
        name, path, args, kwargs = super().deconstruct()
        kwargs["case_attr"] = self.case_attr
        return name, path, args, kwargs

    def get_internal_type(self) -> str:
        return "TextField"

    @property
    def seal_label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def _encode(self, value: Any) -> str:
        raise NotImplementedError

    def _decode(self, text: str) -> Any:
        raise NotImplementedError

    def shredded_value(self) -> Any:
        raise NotImplementedError

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None or is_token(value):
            return value
        return seal_text(self._encode(value), case_id=_case_id_of(model_instance, self.case_attr),
                         label=self.seal_label)

    def get_prep_value(self, value: Any) -> Any:
        # "" carries nothing to protect; allowing it lets a migration add a sealed column to existing rows.
        if value is None or value == "" or is_token(value):
            return value
        raise VaultError(f"{self.seal_label} is sealed: write it through save(), never a bulk update or lookup")

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        if not is_token(value):
            # Only a database migrated half-way holds clear text here; the data migration seals it.
            return self._decode_legacy(value)
        plaintext = open_text(value, label=self.seal_label)
        return self.shredded_value() if plaintext is None else self._decode(plaintext)

    def _decode_legacy(self, value: Any) -> Any:
        return value

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj: models.Model) -> Any:
        return self.value_from_object(obj)


class SealedTextField(SealedField, models.TextField):
    """A string, sealed. ``max_length`` is checked on the plaintext by forms and serializers, not the column."""

    def _encode(self, value: Any) -> str:
        return str(value)

    def _decode(self, text: str) -> str:
        return text

    def shredded_value(self) -> str:
        return SHREDDED_TEXT


class SealedJSONField(SealedField, models.TextField):
    """A JSON value, sealed. After shredding it reads as ``shredded`` (an empty list, mapping or None)."""

    def __init__(self, *args: Any, shredded: str = "list", **kwargs: Any):
        if shredded not in ("list", "dict", "none"):
            raise ValueError("shredded must be list, dict or none")
        self.shredded = shredded
        super().__init__(*args, **kwargs)

    def deconstruct(self):  # noqa: ANN201
        name, path, args, kwargs = super().deconstruct()
        kwargs["shredded"] = self.shredded
        return name, path, args, kwargs

    def _encode(self, value: Any) -> str:
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)

    def _decode(self, text: str) -> Any:
        return json.loads(text)

    def _decode_legacy(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    def shredded_value(self) -> Any:
        return {"list": [], "dict": {}, "none": None}[self.shredded]

    def formfield(self, **kwargs: Any):  # noqa: ANN201
        from django.forms import JSONField as JSONFormField

        return JSONFormField(**kwargs)


def seal_existing_rows(model_label: str, fields: list[str]):  # noqa: ANN201
    """A RunPython step for a data migration: seal clear values written before the field was sealed.

    Reading a clear value gives it back as is (``from_db_value``); saving it seals it under its case's key.
    Rows of cases shredded before sealing existed are not sealed but overwritten: their text was meant to be
    gone already.
    """

    def forwards(apps, schema_editor) -> None:  # noqa: ANN001
        model = apps.get_model(model_label)
        case_attr = model._meta.get_field(fields[0]).case_attr
        shredded = {str(pk) for pk in apps.get_model("intake", "Submission").objects
                    .filter(state="shredded").values_list("pk", flat=True)}
        for row in model.objects.all().iterator(chunk_size=500):
            if str(_case_id_of(row, case_attr)) in shredded:
                model.objects.filter(pk=row.pk).update(**{name: SHREDDED_TOKEN for name in fields})
            else:
                row.save(update_fields=fields)

    return forwards
