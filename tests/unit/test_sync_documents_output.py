"""The document builders' output is pinned: for the fixture documents (every buildable type, a
first version and a correction, a resident without an ID number, markup in free text) the CDA
XML is byte-identical, and the FHIR bundle equal, to what the builders produced before they were
made fast (issue #14). The reference is each output's SHA-256 (the documents themselves are
265 KB); an integrated visit's two documents, which the builders did not make before, are
pinned as the fast builders first made them. Beside each the digest of the input, so that a change to the fixtures (the forms'
examples, the synthetic resident) is told apart from a change to the builders.

A deliberate change of the output regenerates the table with

    PYTHONPATH=. .venv/bin/python -m tests.unit.test_sync_documents_output
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace

import pytest

from services.sync.documents import DocumentInput, build_cda, build_fhir
from tests.unit.sync_documents_data import document, integrated_content, resident, sources


def cases() -> dict[str, DocumentInput]:
    found = sources()
    out = {}
    for type_code, (source, content) in sorted(found.items()):
        out[f"{type_code} v1"] = document(type_code, source, content)
        out[f"{type_code} v2"] = document(type_code, source, content, version=2)
    source, content = found["HSDC00.04"]
    out["HSDC00.04 no ID number"] = document("HSDC00.04", source, content,
                                             patient=replace(resident(), id_number=None, health_card_no=None))
    out["HSDC00.04 markup"] = document(
        "HSDC00.04", source, {**content, "opinion": "血糖 > 16.7 & <3.9 时转诊 ]]>"},
        patient=replace(resident(), name='王<小>&"明\'', current_address="</streetAddressLine><x>&amp; 3号"))
    for type_code in ("HSDB04.01", "HSDB04.02"):
        out[f"{type_code} integrated"] = replace(document(type_code, "integrated_follow_up", integrated_content()),
                                                 set_id=f"record:9001:{type_code}")
    return out


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def input_digest(doc: DocumentInput) -> str:
    return digest(json.dumps(asdict(doc), sort_keys=True, ensure_ascii=False, default=str).encode())


def fhir_digest(bundle: dict) -> str:
    return digest(json.dumps(bundle, sort_keys=True, ensure_ascii=False).encode())


# case -> (input, CDA bytes, FHIR bundle as sorted JSON), SHA-256 (first 32 hex digits), produced by
# the builders of commit afdd589 (before issue #14's performance work); the FHIR digests regenerated
# when Composition.identifier became the version-independent set id (with the versionNumber
# extension), the CDA ones unchanged.
REFERENCE = {
    'HSDA00.01 v1': ('3aaf266737d6b6c0e77e02763c5fcbc7',
        '1cba5ce91419831be95ab67adcd1642a', '4909cad8c53f651df3cd32353f11ba34'),
    'HSDA00.01 v2': ('8ffa65c9c6d61d33b38b0a6e2c6258b3',
        '6ea0f2af18c4f75adf16d2806a1a7ae4', '0025ffe4afb57e9dbf76312cff29bd2c'),
    'HSDB04.01 v1': ('20d7e9b83a878c0b5041fafdc5eeefea',
        'a3ea48a0f4176a9791496135a1e7d7f6', '04ca84cb15a6c8ca442226d0151eecba'),
    'HSDB04.01 v2': ('a6386320cd983bb7f808c3cb4d00deeb',
        'cb91fb8d43a39cfed0cc75b34542c145', '839d4029bd825c362c48e3feba383c27'),
    'HSDB04.02 v1': ('ae642b0ebbe68da9ca9fad2cb3aeecda',
        'c024fa2f4d5824ef740d27041bc62b89', '91b74dbbc2ec420e4bde3daa8c262912'),
    'HSDB04.02 v2': ('03ba3b5b609e74529d215263fa47d7ba',
        '76338dcdc149818ac6ad02cac06b019f', '13e27ed48e33ed566dc9180c15f4bb68'),
    'HSDC00.01 v1': ('30856df8a6a5248a0ac6ca9825600c36',
        '563889a940b7bbc570894162143ae73f', '8995833a3342910e7693fab7bfbf30a0'),
    'HSDC00.01 v2': ('fc34f7de244a91bc6f645b7e4735a7c0',
        'fb5f8d1721a1ef95ad93ac43a8873243', 'fdbc82e43e8451515630eb73966ede0f'),
    'HSDC00.02 v1': ('e46f4c83121dbfc8fd715e6915c66cf2',
        'f16475efece177fb510704db3d91c737', '141d242b2e0795d913bc0f817f979947'),
    'HSDC00.02 v2': ('f36374fe75dc946ae6313b8715f85088',
        'b96c9acc5167af8bffe04be002a53d5c', '32f583d371e4dc19913f9201d0ba3002'),
    'HSDC00.03 v1': ('eb7d94c489616095eeb3c8bd09907245',
        'f3a5c8a6b589cc1f2aa57dedcf186b25', '4f1bd53991d34f570a5b78ec73afa9e1'),
    'HSDC00.03 v2': ('0a5e5ea04e8aaa0774af0d5f3c88a8ad',
        '1bc59f4be3396c59e57f29b12ce100fd', 'af37b4a38735424eb1517dc7bfb2f04c'),
    'HSDC00.04 v1': ('424d59c67984dafe6d88ae8bd4e991e0',
        '227a4d3d5d526b1a1e01a03b8d026428', 'db7a0a56f6b33b945cb1addb168371ac'),
    'HSDC00.04 v2': ('1c9486ca498b804a775640441b0da834',
        'e2d462cf3acf100854805fe1e0176ebf', '5d8c19660429686189195ac620d961e4'),
    'HSDC00.05 v1': ('744ade41e826b0b67496a51a4df1305d',
        'ace14b9c2330e16277dc273eb9da2c2d', '58671ac4521a78bc11ea8b606fc5d845'),
    'HSDC00.05 v2': ('3e3b63fe70919c55cb2bc429fa7c81e2',
        '7b7b2fc3f60d76c8b874d0040e3dda7d', 'f62fffc2c5aa0ec90b94bb2ae0c9dd72'),
    'HSDC00.04 no ID number': ('d0cfb8b61e04a5b7d5c80a494ebf409a',
        '1358c3734c1f08b4f395360a1f50d6d9', 'e0b6aa433c41cb13c377c32d16fbb730'),
    'HSDC00.04 markup': ('08a4554082db96cc600a9dc156fc34b6',
        '6bb92b65ba5d17a9ffa72205ed48305d', 'e3ca6e29a2552626f8a5796b9d2db997'),
    # the integrated visit's documents (new with the two-document sources)
    'HSDB04.01 integrated': ('f455e013be88aaa5ded8e6cf5b475036',
        'b5e6998ba665b2f8f15612b5d6fa5a83', '4adf16a10e6cf8ec7986131f7f497256'),
    'HSDB04.02 integrated': ('9f91ab961de1ebe915f5d7d34d68abc7',
        '6e7c736b013a7ee33f03b9b46db94413', '92bfa10a30f6681dac977828b9ebae04'),
}

CASES = cases()


@pytest.mark.parametrize("case", sorted(REFERENCE))
def test_the_output_is_what_the_builders_produced_before(case):
    doc = CASES[case]
    expected_input, expected_cda, expected_fhir = REFERENCE[case]
    assert input_digest(doc) == expected_input, \
        f"{case}: the fixture's input changed (tests/unit/sync_documents_data.py or the forms' examples); " \
        "regenerate the table (see the module's doc) after checking the builders' output by hand"
    assert digest(build_cda(doc)) == expected_cda, f"{case}: the CDA XML is no longer byte-identical"
    assert fhir_digest(build_fhir(doc)) == expected_fhir, f"{case}: the FHIR bundle changed"


def _bumped(value):
    """Every number in the content one more (other values in the same shapes)."""
    if isinstance(value, dict):
        return {key: _bumped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_bumped(item) for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value + 1
    return value


def test_copied_sections_are_what_building_them_element_by_element_makes(monkeypatch):
    """The CDA sections copied from a cached shape, with other values set in place, are byte for
    byte the sections built element by element (no shape kept: `_MAX_SHAPES` 0)."""
    from services.sync.documents import cda

    variants = []
    for n, (name, doc) in enumerate(sorted(CASES.items())):
        content = dict(doc.content)
        for key in ("occurred_on", "started_at"):              # other dates, other effectiveTimes
            if isinstance(content.get(key), str):
                content[key] = content[key].replace("2024-05", "2023-11")
        variants += [doc, replace(doc, content=_bumped(content), patient=resident(seed=40 + n))]
    for doc in variants:
        build_cda(doc)                                           # every shape kept
    copied = [build_cda(doc) for doc in variants]
    monkeypatch.setattr(cda, "_MAX_SHAPES", 0)
    monkeypatch.setattr(cda, "_SHAPES", {})
    assert [build_cda(doc) for doc in variants] == copied


def test_every_fixture_document_is_pinned():
    assert sorted(REFERENCE) == sorted(CASES)


if __name__ == "__main__":
    for name, doc in CASES.items():
        print(f"    {name!r}: ({input_digest(doc)!r},\n        {digest(build_cda(doc))!r}, "
              f"{fhir_digest(build_fhir(doc))!r}),")
