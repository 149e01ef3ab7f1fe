"""The keys an archive is found by, derived the same way when it is stored and when it is sought.

    >>> name_pinyin("张秀英")
    'zhangxiuying'
    >>> identity_key(pii, "01", "11010519491231002X")   # shared.pii: HMAC blind index, namespace "id:01"
    >>> identity_key(pii, "02", "11010519491231002X")   # the same: a 户口簿 prints the same number
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

# The archive's other personal data, each sealed to the archive's number in its own column:
# the field as the contracts name it -> the column.
COVER_SEALED = {
    "current_address": "current_address_enc",        # 现住址
    "registered_address": "registered_address_enc",  # 户籍地址
    "employer": "employer_enc",                      # 工作单位
    "contact_name": "contact_name_enc",              # 联系人姓名
    "contact_phone": "contact_phone_enc",            # 联系人电话
    "guardian_id_number": "guardian_id_number_enc",  # a newborn's guardian
}
# Every ciphertext column of an archive row, all bound to its number.
SEALED_COLUMNS = ("id_number_enc", "phone_enc", *COVER_SEALED.values())


def sealed_in(column: str) -> str:
    """Where a ciphertext column of an archive is bound: `archives.<column>`."""
    return f"archives.{column}"


def seal(pii: PiiBox, archive_no: str, column: str, value: str | None) -> bytes | None:
    """`value` sealed in the archive's `column`, or None for no value."""
    return None if value is None else pii.encrypt(value, sealed_in(column), archive_no)


def unseal(pii: PiiBox, archive_no: str, column: str, token: bytes | None) -> str | None:
    return None if token is None else pii.decrypt(token, sealed_in(column), archive_no)


def identifier_row_key(kind: str, issuer: str | None, index: bytes) -> str:
    """What an identifier's ciphertext is bound to: the row's unique key, known before insert."""
    return f"{kind}/{issuer or ''}/{bytes(index).hex()}"


def reseal_identity(pii: PiiBox, archive: Archive, former_no: str) -> None:
    """Bind the archive's ciphertexts (ID and phone numbers, the cover's personal data) to its new
    number after a renumbering transfer."""
    for column in SEALED_COLUMNS:
        token = getattr(archive, column)
        if token is not None:
            plain = pii.decrypt_bytes(token, sealed_in(column), former_no)
            setattr(archive, column, pii.encrypt_bytes(plain, sealed_in(column), archive.archive_no))


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
