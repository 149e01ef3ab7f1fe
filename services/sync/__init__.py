"""The sync service: standard documents (WS/T 483 CDA R2, or FHIR R4) of every archive and record,
sent to the regional health information platform with a send queue, acknowledgements and retries."""
