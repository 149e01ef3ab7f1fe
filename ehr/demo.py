"""`ehr demo`: a realistic small hospital feed, so a newcomer sees archives fill.

Township systems register residents through the gateway's HTTP API, each with its own API key
(`township_system`, created for the demo by `ehr.access.create_demo_keys` and revoked by
`revoke_demo_keys` when the demo ends: the gateway lets a township register and read only its
own residents); hospitals publish encounters to `ehr.encounters` with a plain AMQP publisher, as
any HIS would, each with its own broker account (`ehr.broker.grant_demo_accounts`: it may publish
only under its own institution code). Some encounters are for residents
registered only afterwards: they wait as pending and are filed the moment the archive is created.

The key-population programmes get a few months of work at one centre (`ehr.demo_programmes`): a
cast of residents enrolled in hypertension, type 2 diabetes or both with their follow-ups filed
through the same API (the demo key is the centre's own system, which files its doctors'
follow-ups), the centre's elders enrolled in the elderly programme, and a hospital's I10 diagnosis
for a resident not enrolled, so its work list (`GET /api/v1/worklist`) shows due, overdue and
urgent items and a suggestion to confirm.

The same centre refers some of that cast to the demo hospitals and asks them for consultations
(`ehr.demo_referrals`): its sent box (`GET /api/v1/referrals?box=sent`) shows a referral in every
state, the hospitals answering over AMQP with their own broker accounts; a second run adds none.

The demo county's insurer sends a few settlements (医保结算) of demo residents over AMQP with its
own broker account (`ehr.demo_settlements`): outpatient ones, an inpatient stay, a correction
(a higher revision) and one of a resident registered only afterwards (pending until then), so
their 首页 shows the `insurance` figures; stable message ids file nothing twice.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid

from shared import clock

from kombu import Connection, Producer

from ehr import demo_programmes, demo_referrals, demo_settlements
from ehr.broker import INSURER
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
             encounters_each: int = 3, seed: int | None = None, echo=print, expire=None) -> dict:
    """`keys`: institution code of each township or community centre -> its API key;
    `brokers`: institution code of each hospital (and centre) -> AMQP URI of its own account;
    `expire(referral_id, as_of)`: the referrals' expiry sweep for one referral (default: over RPC
    as the operator running the demo, `demo_referrals.expire_with_operator_rpc`)."""
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
    # the programmes' cast, at the centre of the first village (the one the closing hints name)
    today = clock.today()
    centre = managers[villages[0]["code"][:9]]
    centre_villages = [v["code"] for v in villages if managers[v["code"][:9]] == centre]
    cast = demo_programmes.cast()
    cast_people = [synth.resident(centre_villages[n % len(centre_villages)], centre,
                                  born=demo_programmes.born(case.age, today)) for n, case in enumerate(cast)]

    def register(person) -> str | None:
        status, body = _http(gateway, "POST", "/api/v1/archives", person.archive_request(),
                             key=keys[person.institution_code])
        if status == 201:
            archives[person.id_number] = (body["archive_no"], person.institution_code)
            return body["archive_no"]
        return None

    archives: dict[str, tuple[str, str]] = {}
    for case, person in zip(cast, cast_people):
        case.archive_no = register(person)
    for person in people[len(late):]:
        register(person)
    echo(f"registered {len(archives)} residents")

    def call(method, path, body, key):
        return _http(gateway, method, path, body, key=key)

    done = demo_programmes.enrol_and_file(call, keys[centre], cast, today)
    echo(f"programmes at {centre}: {done['enrolled']} enrolments, {done['follow_ups']} follow-up records filed "
         "over the past months")

    visits: dict[str, list[dict]] = {code: [] for code in hospitals}
    for person in people:
        for _ in range(encounters_each):
            hospital = synth.rng.choice(hospitals)
            visits[hospital].append(synth.encounter(person, hospital))
    for case, person in zip(cast, cast_people):
        if case.label == "suggested" and hospitals:  # diagnosed in hospital, not yet enrolled: to confirm
            hospital = hospitals[0]
            encounter = synth.encounter(person, hospital)
            encounter["encounter"]["diagnoses"] = [{"system": "ICD-10", "code": "I10", "name": "原发性高血压",
                                                    "primary": True}]
            visits[hospital].append(encounter)
    sent = 0
    for hospital, bodies in visits.items():
        with Connection(brokers[hospital], transport_options={"confirm_publish": True}) as conn:
            # no exchange declaration: the exchange is the suite's, and a hospital may only publish
            producer = Producer(conn.default_channel, auto_declare=False)
            for body in bodies:
                publish_encounter(producer, body, conn.userid)
                sent += 1
    echo(f"published {sent} hospital encounters ({len(late) * encounters_each} for residents not yet registered)")
    settled = _settle(brokers, institutions, hospitals, cast, cast_people, people[len(late):], late, today, echo)

    time.sleep(1)
    for person in late:
        register(person)
    echo(f"registered {len(late)} more residents; their pending encounters are filed now")
    births = {p.id_number: p.birth_date for p in people}
    elders = demo_programmes.enrol_elders(call, keys, archives, births, today)
    worklist = demo_programmes.wait_for_worklist(call, keys[centre], cast)
    echo(f"enrolled {elders} residents of 65 or more in the elderly programme; the work list of {centre}: "
         f"{worklist['urgent']} urgent, {worklist['overdue']} overdue, {worklist['due']} due this week, "
         f"{worklist['to_confirm']} suggestions to confirm (GET /api/v1/worklist, /api/v1/programme-suggestions)")
    referred = demo_referrals.run(call, keys[centre], {code: brokers[code] for code in hospitals},
                                  [c.archive_no for c in cast if c.archive_no and c.label != "suggested"],
                                  expire or demo_referrals.expire_with_operator_rpc)
    echo(f"referrals of {centre}: " + ", ".join(f"{n} {state}" for state, n in referred["states"].items())
         + f" ({len(referred['made'])} made now; GET /api/v1/referrals?box=sent, /api/v1/consultations?box=sent)")
    return {"archives": len(archives), "encounters": sent, "centre": centre, "worklist": worklist,
            "referrals": referred, "cast": {case.label: case.archive_no for case in cast}, "settlements": settled,
            "hints": try_next(gateway, keys, brokers, archives, institutions, centre,
                              settled=settled["id_numbers"])}


def _settle(brokers: dict[str, str], institutions: list[dict], hospitals: list[str], cast, cast_people, registered,
            late, today, echo) -> dict:
    """The insurer's settlements (`ehr.demo_settlements`): of the programmes' first resident (the
    one the closing hints name: outpatient and its correction), of the resident with both
    conditions (an inpatient stay), of another registered resident, and of one registered later
    (pending until then); published with the insurer's own account. Nothing without an insurer
    account or a hospital."""
    insurers = [i["code"] for i in institutions if i["kind"] == INSURER and i["code"] in brokers]
    if not insurers or not hospitals:
        return {"insurer": None, "message_ids": [], "bodies": [], "id_numbers": []}
    labels = [case.label for case in cast]
    chosen = [cast_people[0]] if cast_people else []
    if "integrated" in labels:
        chosen.append(cast_people[labels.index("integrated")])
    chosen += registered[:1]
    visited = [(person, hospitals[n % len(hospitals)]) for n, person in enumerate(chosen)]
    bodies = demo_settlements.plan(insurers[0], visited, (late[0], hospitals[-1]) if late else None, today)
    message_ids = demo_settlements.publish(brokers[insurers[0]], bodies)
    corrections = sum(1 for b in bodies if b["source"]["revision"] > 1)
    echo(f"the insurer {insurers[0]} published {len(bodies)} settlements ({corrections} a correction, "
         f"{1 if late else 0} for a resident not yet registered): the 首页 shows them under 医保结算")
    return {"insurer": insurers[0], "message_ids": message_ids, "bodies": bodies,
            "id_numbers": sorted({b["insured"]["id_number"] for b in bodies})}


def try_next(gateway: str, keys: dict[str, str], brokers: dict[str, str], archives: dict, institutions,
             centre: str | None = None, settled=()) -> list[str]:
    """The lines that tell a newcomer what to try with the demo's keys (`ehr up` prints them last,
    in its closing block, so the demo key is not lost among the logs): an archive's records (and
    its 首页, when the insurer settled for it: `settled`, ID numbers), and, with the same key, the
    work list of `centre` (the one with the programmes' demo)."""
    samples = list(archives.items())
    sample = next((s for s in samples if s[1][1] == centre), samples[0] if samples else None)
    if not sample:
        return []
    id_number, (archive_no, manager) = sample
    auth = f"-H 'Authorization: Bearer {keys[manager]}'"
    hints = [f"  try, with the DEMO key of {manager}'s township system (valid until the demo ends: "
             "`ehr up --demo` revokes its demo keys when it stops, `ehr demo` when its feed is sent):",
             f"    curl {auth} {gateway}/api/v1/archives/{archive_no}/records"]
    if id_number in settled:
        hints += ["  its 首页, with the insurer's settlements of the past 12 months under `insurance`:",
                  f"    curl {auth} {gateway}/api/v1/archives/{archive_no}/summary"]
    if manager == centre:
        hints += ["  its work list (urgent, overdue and due follow-ups, each saying why) and residents to confirm:",
                  f"    curl {auth} {gateway}/api/v1/worklist",
                  f"    curl {auth} {gateway}/api/v1/programme-suggestions",
                  "  its referrals (one in every state) and consultations:",
                  f"    curl {auth} '{gateway}/api/v1/referrals?box=sent'"]
    if manager in brokers:
        division = next(i["division_code"] for i in institutions if i["code"] == manager)
        hints += [f"  and its updates, with its DEMO broker account (`ehr broker revoke {manager}` ends it):",
                  f"    ehr subscribe {manager} --jurisdiction {division} --uri '{brokers[manager]}'"]
    return hints
