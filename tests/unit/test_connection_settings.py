"""Where the suite connects: the local database password kept in the state directory
(scripts/services) for a URL naming this machine without one, and nothing changed elsewhere."""

from __future__ import annotations

from shared.config import DEFAULT_DATABASE_URL, load_settings


def test_without_a_password_file_the_default_url_is_unchanged_as_on_trust_machines(tmp_path):
    settings = load_settings({"EHR_STATE_DIR": str(tmp_path)})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.database_passwords == {}


def test_the_state_directorys_password_goes_to_a_local_url_without_one_and_the_service_roles(tmp_path):
    (tmp_path / "database-password").write_text("0123abcd\n")
    settings = load_settings({"EHR_STATE_DIR": str(tmp_path)})
    assert settings.database_url == "postgresql://postgres:0123abcd@127.0.0.1:5432"
    roles = {service: settings.database_password(service) for service in ("registry", "records", "gateway")}
    assert len(set(roles.values())) == 3 and "0123abcd" not in roles.values()  # one each, not the owner's
    assert f":{roles['records']}@" in settings.service_url_for("records")


def test_a_url_with_its_own_password_or_another_host_is_left_as_given(tmp_path):
    (tmp_path / "database-password").write_text("0123abcd\n")
    for url in ("postgresql://ehr:given@127.0.0.1:5432", "postgresql://ehr@db.example:5432"):
        settings = load_settings({"EHR_STATE_DIR": str(tmp_path), "EHR_DATABASE_URL": url})
        assert settings.database_url == url and settings.database_passwords == {}


def test_an_explicit_service_role_password_wins_over_the_derived_one(tmp_path):
    (tmp_path / "database-password").write_text("0123abcd\n")
    settings = load_settings({"EHR_STATE_DIR": str(tmp_path), "EHR_RECORDS_DATABASE_PASSWORD": "mine"})
    assert settings.database_password("records") == "mine"
