"""Credentials for tests, made directly in the gateway database (as `ehr user add` and
`ehr apikey add` do): users with tokens, API keys, and requests sessions that send them."""

from __future__ import annotations

import uuid

import requests
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import make_engine

from services.gateway import access, accounts, credentials

PASSWORD = "correct horse battery staple"


class Credentials:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url_for("gateway"), pool_size=1)

    def close(self) -> None:
        self.engine.dispose()

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def user(self, role: str, institution: str, username: str | None = None, password: str = PASSWORD) -> str:
        username = username or f"{role.replace('_', '')[:12]}-{uuid.uuid4().hex[:8]}"
        with self._session() as session:
            accounts.create_user(session, username, password, institution, role)
        return username

    def token(self, username: str, lifetime: int = 600, now: float | None = None) -> str:
        return credentials.issue_token(self.settings.require_token_key(), username, lifetime, now=now)

    def api_key(self, role: str, institution: str, name: str | None = None) -> str:
        with self._session() as session:
            return accounts.add_api_key(session, name or f"key-{uuid.uuid4().hex[:10]}", institution, role)

    def revoke(self, name: str) -> None:
        with self._session() as session:
            accounts.revoke_api_key(session, name)

    def session_for(self, role: str, institution: str) -> requests.Session:
        """A requests session signed in as a new user (people) or with a new key (system clients)."""
        if role in access.USER_ROLES:
            return bearer(self.token(self.user(role, institution)))
        return bearer(self.api_key(role, institution))


def bearer(credential: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {credential}"
    return session
