"""`ehr platform`: a fake regional health information platform (区域卫生信息平台) for development
and tests, behind the real HTTP interface the sync service sends to (docs/contracts.md, "The
regional platform"). It stands outside the suite: it imports nothing of services/ and reads each
document with its own checks (checks.py), so a builder's mistake is caught, not repeated.

    checks.py   how a CDA (WS/T 483) or FHIR document is read and what is refused, with reasons
    storage.py  what it accepted (SQLite in its data directory: a restart keeps it)
    faults.py   500, hang, down, reject one in N, for tests of retries
    server.py   the HTTP interface: routes, token, order, answers
    transport.py  the HTTP/1.1 server under it (stdlib sockets, a thread a kept-alive connection)
    launch.py   the fake as one more process of `ehr up --demo`
"""
