"""The keys an archive is found by, derived the same way when it is stored and when it is sought.

    >>> name_pinyin("张秀英")
    'zhangxiuying'
    >>> phone_index(pii, "13800000000")             # HMAC blind index, namespace "phone"
    >>> identifier_index(pii, "mrn", " mz0012345 ") # HMAC blind index of "MZ0012345", namespace "mrn"

The ID number's blind index (namespace "id:01") is `shared.pii.identity_key`: records derives the
same key from a hospital message.

And where each ciphertext is bound (`shared.pii`): an archive's ID and phone numbers to the
archive's number (a transfer that renumbers it seals them again, `reseal_identity`), an identifier
to its unique (kind, issuer, blind index):

    >>> pii.encrypt("13800000000", PHONE_SEALED_IN, "11010500300100001")
    >>> identifier_row_key("mrn", "H110105001", index)   # 'mrn/H110105001/3f0a...'
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import lazy_pinyin

from shared.pii import PiiBox

from services.registry.models import Archive


ID_NUMBER_SEALED_IN = "archives.id_number_enc"
PHONE_SEALED_IN = "archives.phone_enc"
IDENTIFIER_SEALED_IN = "resident_identifiers.value_enc"


def identifier_row_key(kind: str, issuer: str | None, index: bytes) -> str:
    """What an identifier's ciphertext is bound to: the row's unique key, known before insert."""
    return f"{kind}/{issuer or ''}/{bytes(index).hex()}"


def reseal_identity(pii: PiiBox, archive: Archive, former_no: str) -> None:
    """Bind the archive's ID and phone numbers to its new number after a renumbering transfer."""
    for column, sealed_in in (("id_number_enc", ID_NUMBER_SEALED_IN), ("phone_enc", PHONE_SEALED_IN)):
        token = getattr(archive, column)
        if token is not None:
            plain = pii.decrypt_bytes(token, sealed_in, former_no)
            setattr(archive, column, pii.encrypt_bytes(plain, sealed_in, archive.archive_no))


def phone_index(pii: PiiBox, phone: str) -> bytes:
    return pii.blind_index("phone", phone)


def normalised_identifier(value: str) -> str:
    """A card number or MRN as it is stored and sought: no spaces anywhere, letters upper-case
    (hospitals and card readers differ in both, never in what the number means)."""
    return "".join(value.split()).upper()


def identifier_index(pii: PiiBox, kind: str, value: str) -> bytes:
    """Blind index of another identifier (`health_card`, `insurance_card`, `mrn`), namespaced by
    its kind; the issuer is a column of its own."""
    return pii.blind_index(kind, normalised_identifier(value))


@lru_cache(maxsize=200_000)
def name_pinyin(name: str) -> str:
    # Cached: pypinyin costs ~140 us a name, and names repeat a great deal in a county.
    return "".join(lazy_pinyin(name)).lower()
