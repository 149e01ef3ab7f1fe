"""Document builders: pure functions from a `DocumentInput` (documents/model.py) to a WS/T 483 CDA
R2 document (XML bytes, built with lxml) or a FHIR R4 document Bundle (JSON-ready dict validated
with fhir.resources). No Nameko, no database: the sync service gathers the facts and calls these."""
