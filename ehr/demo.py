"""`ehr demo`: a realistic small hospital feed, so a newcomer sees archives fill.

Township systems register residents through the gateway's HTTP API, each with its own API key
(`township_system`, created for the demo by `ehr.access.create_demo_keys` and revoked by
`revoke_demo_keys` when the demo ends: the gateway lets a township register and read only its
own residents); hospitals publish encounters to `ehr.encounters` with a plain AMQP publisher, as
any HIS would, each with its own broker account (`ehr.broker.grant_demo_accounts`: it may publish
only under its own institution code). Some encounters are for residents
registered only afterwards: they wait as pending and are filed the moment the archive is created.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid

from kombu import Connection, Producer

from ehr.synthetic import Synthesizer, encode


def _http(base: str, method: str, path: str, body: dict | None = None, key: str | None = None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def publish_encounter(producer: Producer, body: dict, account: str) -> str:
    """Publish as `account` (the connection's), which the suite requires in `user_id`."""
    message_id = str(uuid.uuid4())
    producer.publish(
        encode(body), exchange="ehr.encounters",
        routing_key=f"encounter.{body['source']['institution_code']}.{body['encounter']['kind']}",
        content_type="application/json", content_encoding="utf-8", delivery_mode=2, message_id=message_id,
        user_id=account,
    )
    return message_id


def run_demo(gateway: str, keys: dict[str, str], brokers: dict[str, str], residents: int = 20,
             encounters_each: int = 3, seed: int | None = None, echo=print) -> dict:
    """`keys`: institution code of each township or community centre -> its API key;
    `brokers`: institution code of each hospital (and centre) -> AMQP URI of its own account."""
    synth = Synthesizer(seed)
    any_key = next(iter(keys.values()))
    _, villages = _http(gateway, "GET", "/api/v1/villages", key=any_key)
    _, institutions = _http(gateway, "GET", "/api/v1/institutions", key=any_key)
    hospitals = [i["code"] for i in institutions if i["kind"] == "hospital" and i["code"] in brokers]
    managers = {i["division_code"][:9]: i["code"] for i in institutions if i["code"] in keys}
    villages = [v for v in villages if v["code"][:9] in managers]
    people = []
    for n in range(residents):
        village = villages[n % len(villages)]["code"]
        people.append(synth.resident(village, managers[village[:9]]))
    late = people[: max(1, residents // 5)]  # registered after their hospital visit

    def register(person) -> None:
        status, body = _http(gateway, "POST", "/api/v1/archives", person.archive_request(),
                             key=keys[person.institution_code])
        if status == 201:
            archives[person.id_number] = (body["archive_no"], person.institution_code)

    archives: dict[str, tuple[str, str]] = {}
    for person in people[len(late):]:
        register(person)
    echo(f"registered {len(archives)} residents")

    visits: dict[str, list[dict]] = {code: [] for code in hospitals}
    for person in people:
        for _ in range(encounters_each):
            hospital = synth.rng.choice(hospitals)
            visits[hospital].append(synth.encounter(person, hospital))
    sent = 0
    for hospital, bodies in visits.items():
        with Connection(brokers[hospital], transport_options={"confirm_publish": True}) as conn:
            # no exchange declaration: the exchange is the suite's, and a hospital may only publish
            producer = Producer(conn.default_channel, auto_declare=False)
            for body in bodies:
                publish_encounter(producer, body, conn.userid)
                sent += 1
    echo(f"published {sent} hospital encounters ({len(late) * encounters_each} for residents not yet registered)")

    time.sleep(1)
    for person in late:
        register(person)
    echo(f"registered {len(late)} more residents; their pending encounters are filed now")
    return {"archives": len(archives), "encounters": sent,
            "hints": try_next(gateway, keys, brokers, archives, institutions)}


def try_next(gateway: str, keys: dict[str, str], brokers: dict[str, str], archives: dict, institutions) -> list[str]:
    """The lines that tell a newcomer what to try with the demo's keys (`ehr up` prints them last,
    in its closing block, so the demo key is not lost among the logs)."""
    sample = next(iter(archives.values()), None)
    if not sample:
        return []
    archive_no, manager = sample
    hints = [f"  try, with the DEMO key of {manager}'s township system (valid until the demo ends: "
             "`ehr up --demo` revokes its demo keys when it stops, `ehr demo` when its feed is sent):",
             f"    curl -H 'Authorization: Bearer {keys[manager]}' {gateway}/api/v1/archives/{archive_no}/records"]
    if manager in brokers:
        division = next(i["division_code"] for i in institutions if i["code"] == manager)
        hints += [f"  and its updates, with its DEMO broker account (`ehr broker revoke {manager}` ends it):",
                  f"    ehr subscribe {manager} --jurisdiction {division} --uri '{brokers[manager]}'"]
    return hints
