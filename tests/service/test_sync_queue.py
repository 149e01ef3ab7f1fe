"""The send queue's order rules on the real database (`services.sync.queue.claim_due`): an archive's
registration goes before its records, a correction never before the version it replaces, a
rejected version does not block the archive, a held one does, and two workers claiming at once
never take the same row (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.sync import queue
from services.sync.models import Document
from shared.config import load_settings
from shared.db import make_engine

LATER = datetime.now(timezone.utc) + timedelta(days=3650)  # due: everything queued before it


@pytest.fixture
def engine(suite_env):
    engine = make_engine(load_settings().database_url_for("sync"), pool_size=3)
    yield engine
    engine.dispose()


@pytest.fixture
def archive_no():
    return "110105003001" + f"{random.randrange(10**5):05d}"


def mine(rows, archive_no):
    return [(r.set_id.split(":")[0], r.version) for r in rows if r.archive_no == archive_no]


def enqueue_record(session, archive_no, record, revision):
    queue.ensure_registration(session, archive_no, "event")
    return queue.enqueue(session, set_id=queue.record_set(record), source="hypertension_follow_up",
                         type_code="HSDB04.01", archive_no=archive_no, record_id=record, revision=revision,
                         cause="event")


def settle(session, rows, state=queue.ACKNOWLEDGED):
    for row in rows:
        row.state = state
    session.commit()


def test_the_registration_goes_first_then_records_in_order_and_a_correction_after_its_version(engine, archive_no):
    with Session(engine) as session:
        first = enqueue_record(session, archive_no, f"r1-{archive_no}", 1)
        enqueue_record(session, archive_no, f"r2-{archive_no}", 1)
        correction = enqueue_record(session, archive_no, f"r1-{archive_no}", 2)
        assert correction.replaces == queue.document_id(first.set_id, 1) and correction.version == 2
        assert enqueue_record(session, archive_no, f"r1-{archive_no}", 2) is None  # the same revision again
        session.commit()

        claimed = queue.claim_due(session, LATER, limit=200)
        assert mine(claimed, archive_no) == [("archive", 1)]
        settle(session, [r for r in claimed if r.archive_no == archive_no])
        claimed = queue.claim_due(session, LATER, limit=200)
        assert mine(claimed, archive_no) == [("record", 1)]  # the first record; the rest wait their turn
        settle(session, [r for r in claimed if r.archive_no == archive_no], queue.REJECTED)
        claimed = queue.claim_due(session, LATER, limit=200)
        assert mine(claimed, archive_no) == [("record", 1)]  # a rejected version does not block the archive
        settle(session, [r for r in claimed if r.archive_no == archive_no])
        claimed = queue.claim_due(session, LATER, limit=200)
        assert [(r.set_id, r.version) for r in claimed if r.archive_no == archive_no] == [(first.set_id, 2)]
        session.rollback()


def test_records_wait_for_an_acknowledged_registration_and_a_held_row_holds_its_archive(engine, archive_no):
    with Session(engine) as session:
        enqueue_record(session, archive_no, f"r1-{archive_no}", 1)
        session.commit()
        registration = session.scalar(sa.select(Document).where(Document.archive_no == archive_no,
                                                                Document.source == queue.ARCHIVE))
        registration.state = queue.REJECTED
        session.commit()
        assert mine(queue.claim_due(session, LATER, limit=200), archive_no) == []  # not registered
        session.rollback()
        registration.state = queue.HELD
        session.commit()
        assert mine(queue.claim_due(session, LATER, limit=200), archive_no) == []
        session.rollback()
        # a new registration version (the identity corrected) goes, then the record
        queue.enqueue(session, set_id=registration.set_id, source=queue.ARCHIVE, type_code=queue.REGISTRATION,
                      archive_no=archive_no, cause="event")
        registration.state = queue.REJECTED
        session.commit()
        claimed = queue.claim_due(session, LATER, limit=200)
        assert mine(claimed, archive_no) == [("archive", 2)]
        settle(session, [r for r in claimed if r.archive_no == archive_no])
        assert mine(queue.claim_due(session, LATER, limit=200), archive_no) == [("record", 1)]
        session.rollback()


def test_two_workers_claiming_at_once_never_take_the_same_row(engine):
    archives = ["110105003002" + f"{random.randrange(10**5):05d}" for _ in range(6)]
    with Session(engine) as session:
        for archive_no in archives:
            queue.ensure_registration(session, archive_no, "event")
        session.commit()
    with Session(engine) as one, Session(engine) as two:
        a = [r.archive_no for r in queue.claim_due(one, LATER, limit=200) if r.archive_no in archives]
        b = [r.archive_no for r in queue.claim_due(two, LATER, limit=200) if r.archive_no in archives]
        assert a and not set(a) & set(b)  # the second worker skipped what the first holds
        one.rollback()
        b_after = [r.archive_no for r in queue.claim_due(two, LATER, limit=200) if r.archive_no in archives]
        assert sorted(b_after) == sorted(archives) or set(b_after) >= set(a)
        two.rollback()
