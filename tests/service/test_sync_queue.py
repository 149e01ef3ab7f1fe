"""The send queue's order rules on the real database (`services.sync.queue.claim_due`): an archive's
registration goes before its records, a correction never before the version it replaces, a
rejected version does not block the archive, a held one does, and two workers claiming at once
never take the same row (FOR UPDATE SKIP LOCKED); a record entered in error (`queue.withdraw`)
cancels what was never sent, withdraws its set's latest acknowledged version after what is on
its way, once, and closes the set."""

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


def set_rows(session, set_id):
    return session.scalars(sa.select(Document).where(Document.set_id == set_id).order_by(Document.version)).all()


def withdraw_record(session, archive_no, record, revision=2):
    return queue.withdraw(session, set_id=queue.record_set(record), source="hypertension_follow_up",
                          type_code="HSDB04.01", archive_no=archive_no, record_id=record, revision=revision,
                          cause="event")


def test_entered_in_error_cancels_what_was_never_sent_and_withdraws_the_latest_acknowledged_after_the_rest(
        engine, archive_no):
    record, now = f"r1-{archive_no}", datetime.now(timezone.utc)
    with Session(engine) as session:
        first = enqueue_record(session, archive_no, record, 1)
        second = enqueue_record(session, archive_no, record, 2)
        third = enqueue_record(session, archive_no, record, 3)
        later = enqueue_record(session, archive_no, f"r2-{archive_no}", 1)  # another record: untouched
        registration = session.scalar(sa.select(Document).where(Document.archive_no == archive_no,
                                                                Document.source == queue.ARCHIVE))
        registration.state = first.state = queue.ACKNOWLEDGED
        second.state, second.attempts, second.sent_at = queue.FAILED, 1, now  # tried: on its way
        third.state, third.attempts = queue.FAILED, 1  # failed before it was sent (its facts): never sent
        session.commit()

        withdrawal = withdraw_record(session, archive_no, record, revision=3)
        session.commit()
        assert (withdrawal.action, withdrawal.state, withdrawal.version, withdrawal.withdraws) == (
            queue.WITHDRAW, queue.QUEUED, 4, queue.document_id(first.set_id, 2))
        assert [r.state for r in set_rows(session, first.set_id)] == [
            queue.ACKNOWLEDGED, queue.FAILED, queue.CANCELLED, queue.QUEUED]
        assert session.get(Document, later.id).state == queue.QUEUED
        # once: the same event again, and a late revision of the record, queue nothing
        assert withdraw_record(session, archive_no, record) is None
        assert enqueue_record(session, archive_no, record, 4) is None
        session.commit()

        claimed = queue.claim_due(session, now + timedelta(days=1), limit=200)
        assert mine(claimed, archive_no) == [("record", 2)]  # the version on its way first
        second.state = queue.REJECTED  # ... and refused: the withdrawal names the last acknowledged
        session.commit()
        claimed = queue.claim_due(session, LATER, limit=200)
        assert mine(claimed, archive_no) == [("record", 1)]  # the other record, queued before it
        settle(session, [r for r in claimed if r.archive_no == archive_no])
        claimed = queue.claim_due(session, LATER, limit=200)
        assert [(r.set_id, r.version, r.action) for r in claimed if r.archive_no == archive_no] == [
            (first.set_id, 4, queue.WITHDRAW)]
        assert queue.withdrawal_targets(session, claimed) == {withdrawal.id: queue.document_id(first.set_id, 1)}
        # `claimed` holds the run's other archives' rows too (earlier modules): submits, given no target
        session.rollback()


def test_a_record_never_sent_is_cancelled_with_its_withdrawal_and_a_version_a_sender_holds_is_on_its_way(
        engine, archive_no):
    record, held_by_sender = f"r1-{archive_no}", f"r2-{archive_no}"
    with Session(engine) as session:
        first = enqueue_record(session, archive_no, record, 1)
        enqueue_record(session, archive_no, held_by_sender, 1)
        session.commit()
        withdrawal = withdraw_record(session, archive_no, record, revision=1)
        session.commit()
        assert [(r.action, r.state) for r in set_rows(session, first.set_id)] == [
            (queue.SUBMIT, queue.CANCELLED), (queue.WITHDRAW, queue.CANCELLED)]
        assert withdrawal.withdraws is None and "nothing sent" in withdrawal.last_error

    with Session(engine) as sender, Session(engine) as consumer:
        other = queue.record_set(held_by_sender)
        row = sender.scalars(sa.select(Document).where(Document.set_id == other).with_for_update()).one()
        withdrawal = queue.withdraw(consumer, set_id=other, source="hypertension_follow_up", type_code="HSDB04.01",
                                    archive_no=archive_no, record_id=held_by_sender, revision=1, cause="event")
        consumer.commit()
        assert (withdrawal.state, withdrawal.withdraws) == (queue.QUEUED, queue.document_id(other, 1))
        assert row.state == queue.QUEUED  # held by the sender: not cancelled under it
        sender.rollback()
