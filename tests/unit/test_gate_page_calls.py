"""A web page's API calls run as the user its request signed in (`WorkerGate(signed_in=...)`):
the session is looked up once per page request, not once per call; a gate without it (an API
request, a public page) looks the session up itself. The audit entry names the user either way."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.gateway import access, accounts, audit, gate, sessions

DOCTOR = accounts.Caller("doc01", accounts.USER, "T1101051011", access.TOWNSHIP_DOCTOR)


class Engine:
    def connect(self):
        return SimpleNamespace(close=lambda: None)


@pytest.fixture
def written(monkeypatch):
    drafts = []
    monkeypatch.setattr(audit, "append", lambda session, draft, key: drafts.append(draft) or audit.Appended(1, None, ""))
    return drafts


def _gate(**options) -> gate.WorkerGate:
    provider = SimpleNamespace(engine=Engine(), audit_key=b"k" * 32, web_session_idle=1800, appended=lambda entry: None)
    return gate.WorkerGate(provider, SimpleNamespace(context_data={}), **options)


def _request():
    return SimpleNamespace(method="GET", headers={}, remote_addr="127.0.0.1")


def test_a_page_call_runs_as_the_user_its_page_signed_in_without_looking_the_session_up_again(monkeypatch, written):
    monkeypatch.setattr(sessions, "caller_for_session", lambda *args: pytest.fail("the session looked up again"))
    answer = _gate(web_session="cookie", signed_in=DOCTOR).guard(access.INSTITUTIONS_LIST, _request(), {},
                                                                  lambda: ["ok"], registry=None)
    assert answer == ["ok"]
    assert [(d.actor, d.role, d.outcome, d.status) for d in written] == [("doc01", access.TOWNSHIP_DOCTOR, "ok", 200)]


def test_without_the_page_caller_the_session_is_looked_up_and_an_ended_one_refused(monkeypatch, written):
    looked_up = []
    monkeypatch.setattr(sessions, "caller_for_session",
                        lambda db, token, idle: looked_up.append(token) or (None, "ended_session"))
    with pytest.raises(Exception) as refused:
        _gate(web_session="cookie").guard(access.INSTITUTIONS_LIST, _request(), {}, lambda: ["ok"], registry=None)
    assert refused.value.status == 401 and looked_up == ["cookie"]
    assert [(d.outcome, d.status) for d in written] == [("ended_session", 401)]


def test_a_caller_given_without_a_session_is_ignored_the_api_authenticates_by_its_header(written):
    with pytest.raises(Exception) as refused:
        _gate(signed_in=DOCTOR).guard(access.INSTITUTIONS_LIST, _request(), {}, lambda: ["ok"], registry=None)
    assert refused.value.status == 401 and written[0].outcome == "no_credentials"
