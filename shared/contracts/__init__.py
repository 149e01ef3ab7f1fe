"""The suite's contracts, one home for each: what each message and each RPC and HTTP call
carries, as marshmallow schemas (and the encounter's JSON Schema) that the producing and the
consuming code both use.

    fields.py          the fields every contract is written with: the archive number, an instant,
                       a name, bounded text, a village code, a page query; load_input, Rpc
    encounter.py       ehr.encounter/1, hospital -> suite on ehr.encounters (load_encounter)
    archive_update.py  ehr.archive-update/1, suite -> township systems on ehr.archive-updates
    events.py          ehr.event/1 on ehr.events: event names, payloads, event_message, load_event
    registry.py        the registry's RPC requests and answers (RPC: method -> Rpc)
    records.py         the records service's RPC requests and answers (RPC), its HTTP bodies
    gateway.py         the gateway's own HTTP bodies and answers (token, grants, stats, health, errors)

Nothing is re-exported here: import each contract from its module.
"""
