"""Small hand-written documents the fake platform accepts: the minimum its checks ask for, written
here from the standard (not by the suite's builders), for its tests and for trying it by hand:

    python -m ehr.platform.samples cda > doc.xml     # or: fhir > doc.json

The patient is made up: the archive number of the demo county and the standard's own example
ID number (GB 11643: 11010519491231002X)."""

from __future__ import annotations

import json
import sys
from xml.sax.saxutils import quoteattr

ARCHIVE_NO = "11010500300100001"
ID_NUMBER = "11010519491231002X"
CUSTODIAN = "T1101051011"

_CDA = """<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <realmCode code="CN"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_MT000040"/>
  <templateId root="2.16.156.10011.2.1.1.21"/>
  <id root="2.16.156.10011.1.1" extension={document_id}/>
  <code code={document_type} codeSystem="2.16.156.10011.2.4" codeSystemName="卫生信息共享文档规范编码体系"/>
  <title>健康档案共享文档</title>
  <effectiveTime value="20260301093000+0800"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25" displayName="正常访问保密级别"/>
  <languageCode code="zh-CN"/>
  <setId root="2.16.156.10011.1.1" extension={set_id}/>
  <versionNumber value={version}/>
  <recordTarget typeCode="RCT" contextControlCode="OP">
    <patientRole classCode="PAT">
      <id root="2.16.156.10011.1.2" extension={archive_no}/>
      <patient classCode="PSN" determinerCode="INSTANCE">
        <id root="2.16.156.10011.1.3" extension={id_number}/>
        <name>张秀兰</name>
        <administrativeGenderCode code="2" codeSystem="2.16.156.10011.2.3.3.4" displayName="女性"/>
        <birthTime value="19491231"/>
      </patient>
    </patientRole>
  </recordTarget>
  <author typeCode="AUT" contextControlCode="OP">
    <time value="20260301093000+0800"/>
    <assignedAuthor classCode="ASSIGNED">
      <id root="2.16.156.10011.1.4" extension="doc01"/>
    </assignedAuthor>
  </author>
  <custodian typeCode="CST">
    <assignedCustodian classCode="ASSIGNED">
      <representedCustodianOrganization classCode="ORG" determinerCode="INSTANCE">
        <id root="2.16.156.10011.1.5" extension={custodian}/>
        <name>朝阳区示范社区卫生服务中心</name>
      </representedCustodianOrganization>
    </assignedCustodian>
  </custodian>{related}
  <component>
    <structuredBody>
      <component>
        <section>
          <code code="8716-3" codeSystem="2.16.840.1.113883.6.1" codeSystemName="LOINC" displayName="生命体征"/>
          <text>血压 120/80 mmHg</text>
          <entry>
            <observation classCode="OBS" moodCode="EVN">
              <code code="DE04.10.174.00" codeSystem="2.16.156.10011.2.2.1" displayName="收缩压"/>
              <value xsi:type="PQ" value="120" unit="mmHg"/>
            </observation>
          </entry>
        </section>
      </component>
    </structuredBody>
  </component>
</ClinicalDocument>
"""

_RELATED = """
  <relatedDocument typeCode="RPLC">
    <parentDocument>
      <id root="2.16.156.10011.1.1" extension={replaces}/>
    </parentDocument>
  </relatedDocument>"""


def sample_cda(document_id: str = "record:sample:v1", document_type: str = "HSDC00.01", *,
               set_id: str | None = None, version: int = 1, replaces: str | None = None,
               archive_no: str = ARCHIVE_NO, custodian: str = CUSTODIAN) -> bytes:
    """A WS/T 483 CDA document the platform accepts (given its registration was accepted)."""
    related = _RELATED.format(replaces=quoteattr(replaces)) if replaces else ""
    return _CDA.format(
        document_id=quoteattr(document_id), document_type=quoteattr(document_type),
        set_id=quoteattr(set_id or document_id.rsplit(":v", 1)[0]), version=quoteattr(str(version)),
        archive_no=quoteattr(archive_no), id_number=quoteattr(ID_NUMBER), custodian=quoteattr(custodian),
        related=related).encode("utf-8")


def sample_fhir(document_id: str = "record:sample:v1", document_type: str = "HSDC00.01", *,
                replaces: str | None = None, archive_no: str = ARCHIVE_NO, custodian: str = CUSTODIAN) -> dict:
    """A FHIR document Bundle the platform accepts (given its registration was accepted)."""
    patient, author, organisation, observation = (f"urn:uuid:00000000-0000-4000-8000-00000000000{n}"
                                                  for n in range(1, 5))
    composition = {
        "resourceType": "Composition", "status": "final",
        "type": {"coding": [{"system": "urn:oid:2.16.156.10011.2.4", "code": document_type}]},
        "subject": {"reference": patient}, "date": "2026-03-01T09:30:00+08:00",
        "author": [{"reference": author}], "title": "健康档案共享文档",
        "custodian": {"reference": organisation},
        "section": [{"title": "生命体征", "code": {"coding": [{"system": "http://loinc.org", "code": "8716-3"}]},
                     "entry": [{"reference": observation}]}],
    }
    if replaces:
        composition["relatesTo"] = [{"code": "replaces", "targetIdentifier": {
            "system": "urn:oid:2.16.156.10011.1.1", "value": replaces}}]
    return {
        "resourceType": "Bundle", "type": "document", "timestamp": "2026-03-01T09:30:00+08:00",
        "identifier": {"system": "urn:oid:2.16.156.10011.1.1", "value": document_id},
        "entry": [
            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000000", "resource": composition},
            {"fullUrl": patient, "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": "urn:oid:2.16.156.10011.1.2", "value": archive_no},
                               {"system": "urn:oid:2.16.156.10011.1.3", "value": ID_NUMBER}],
                "name": [{"text": "张秀兰"}], "gender": "female", "birthDate": "1949-12-31"}},
            {"fullUrl": author, "resource": {
                "resourceType": "Practitioner",
                "identifier": [{"system": "urn:oid:2.16.156.10011.1.4", "value": "doc01"}]}},
            {"fullUrl": organisation, "resource": {
                "resourceType": "Organization", "name": "朝阳区示范社区卫生服务中心",
                "identifier": [{"system": "urn:oid:2.16.156.10011.1.5", "value": custodian}]}},
            {"fullUrl": observation, "resource": {
                "resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}], "text": "收缩压"},
                "subject": {"reference": patient},
                "valueQuantity": {"value": 120, "unit": "mmHg", "system": "http://unitsofmeasure.org",
                                  "code": "mm[Hg]"}}},
        ],
    }


if __name__ == "__main__":
    kind = sys.argv[1] if len(sys.argv) > 1 else "cda"
    if kind == "fhir":
        print(json.dumps(sample_fhir(), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(sample_cda().decode("utf-8"))
