"""The Dockerfile, docker-compose.yml and the systemd units, checked by parsing (no Docker engine
or systemd needed): every service the suite runs (`services.SERVICES`) is deployed, configured
from the shared EHR_* environment, given its own secrets as files, its own database role, a
health check, and no secret is baked in or defaulted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import services as suite
import shared.config

SERVICES = suite.names()

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

INFRASTRUCTURE = {"rabbitmq", "postgres"}
# ${NAME}, ${NAME:?msg}, ${NAME:-default}, ${NAME-default}, ... as compose interpolates them.
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-+?])?(?P<arg>[^}]*)\}")
SECRET_NAME = re.compile(r"PASS|KEY|SECRET|TOKEN")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def app_services(services) -> dict:
    """Every service built from the project's Dockerfile (the suite's own processes)."""
    return {name: svc for name, svc in services.items() if name not in INFRASTRUCTURE}


@pytest.fixture(scope="module")
def shared_env(compose) -> dict:
    return compose["x-ehr-env"]


def _depends_on(service: dict) -> dict:
    deps = service.get("depends_on", {})
    assert isinstance(deps, dict), "depends_on must use the long form to state conditions"
    return deps


def _published_targets(service: dict) -> set[int]:
    targets = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            targets.add(int(port["target"]))
        else:
            targets.add(int(str(port).split("/")[0].rsplit(":", 1)[-1]))
    return targets


def _documented_variables() -> set[str]:
    return set(re.findall(r"EHR_[A-Z_]+", shared.config.__doc__ or ""))


# --- docker-compose.yml -------------------------------------------------------------------


def test_compose_file_is_valid_yaml_with_services(compose):
    assert isinstance(compose, dict)
    assert isinstance(compose.get("services"), dict) and compose["services"]


def test_compose_runs_rabbitmq_and_postgres_with_healthchecks(services):
    assert services["rabbitmq"]["image"].startswith("rabbitmq:3.10")
    assert services["rabbitmq"]["healthcheck"]["test"][-3:] == ["rabbitmq-diagnostics", "-q", "ping"]
    assert services["postgres"]["image"].startswith("postgres:15")
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]


def test_postgres_keeps_its_data_in_a_named_volume(compose, services):
    volumes = services["postgres"]["volumes"]
    named = [v.split(":")[0] for v in volumes if ":/var/lib/postgresql/data" in v]
    assert named and named[0] in compose["volumes"]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_runner_service_is_a_compose_service_running_it(services, service):
    assert service in services, f"{service} is started by `ehr up` but missing from docker-compose.yml"
    assert services[service]["command"] == ["run", service]


def test_every_app_service_is_built_from_the_dockerfile(app_services):
    assert set(SERVICES) | {"migrate"} <= set(app_services)
    for name, svc in app_services.items():
        assert "build" in svc, f"{name} is not built from the Dockerfile"


def test_migrate_runs_once_before_the_services(services):
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    deps = _depends_on(migrate)
    assert deps["rabbitmq"]["condition"] == "service_healthy"
    assert deps["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_app_services_wait_for_healthy_infrastructure_and_finished_migrations(services, service):
    deps = _depends_on(services[service])
    assert deps["rabbitmq"]["condition"] == "service_healthy"
    assert deps["postgres"]["condition"] == "service_healthy"
    assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert services[service]["restart"] == "unless-stopped"


def test_every_app_service_shares_the_anchored_environment(app_services, shared_env):
    assert shared_env, "x-ehr-env is empty"
    for name, svc in app_services.items():
        env = svc["environment"]
        assert isinstance(env, dict), f"{name}: environment must be a mapping"
        for key, value in shared_env.items():
            assert env.get(key) == value, f"{name}: {key} differs from x-ehr-env"


def test_app_services_point_at_the_compose_broker_and_database(shared_env):
    assert "@rabbitmq:5672" in shared_env["EHR_AMQP_URI"]
    assert "@postgres:5432" in shared_env["EHR_DATABASE_URL"]


def _secret_file(name: str, svc: dict, variable: str) -> str:
    """The secret that `variable`_FILE names in a service, checked to be one the service mounts."""
    path = svc["environment"][variable + "_FILE"]
    assert path.startswith("/run/secrets/"), f"{name}: {variable}_FILE must name a compose secret"
    secret = path.removeprefix("/run/secrets/")
    assert secret in svc.get("secrets", []), f"{name}: {variable}_FILE names {secret}, which it does not mount"
    return secret


def test_each_service_is_given_its_own_keys_required_and_no_other_key(compose, app_services):
    required_by_compose = {m["name"] for m in INTERPOLATION.finditer(COMPOSE_FILE.read_text(encoding="utf-8"))
                           if m["op"] == ":?"}
    for name, svc in app_services.items():
        # `migrate` runs the operator's commands: they sign audit entries and internal calls.
        descriptor = suite.service(name) if name in SERVICES else None
        required = descriptor.keys if descriptor else ("EHR_AUDIT_KEY", "EHR_SERVICE_KEY")
        optional = descriptor.optional_keys if descriptor else ()
        given = {key.removesuffix("_FILE") for key in svc["environment"] if shared.config.is_key_variable(key)}
        assert given == {*required, *optional}, f"{name} is given {sorted(given)}"
        for variable in required:
            assert variable not in svc["environment"], f"{name}: {variable} must come as a secret file"
            secret = _secret_file(name, svc, variable)
            assert compose["secrets"][secret] == {"environment": variable}
            assert variable in required_by_compose, f"{variable} must be required (:?)"
        mounted = {secret for secret in svc.get("secrets", []) if secret.startswith("ehr_") and secret.endswith("_key")}
        assert mounted == {_secret_file(name, svc, v) for v in required}, f"{name} mounts {sorted(mounted)}"
    assert not any(key.startswith("EHR_PII_KEY") for key in app_services["gateway"]["environment"])
    assert "ehr_pii_key" not in app_services["gateway"]["secrets"]


def test_broker_and_database_passwords_are_required(compose, shared_env):
    required = {m["name"] for m in INTERPOLATION.finditer(COMPOSE_FILE.read_text(encoding="utf-8"))
                if m["op"] == ":?"}
    assert {"POSTGRES_PASSWORD", "RABBITMQ_USER", "RABBITMQ_PASSWORD"} <= required
    env = compose["services"]["postgres"]["environment"]
    assert env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "POSTGRES_HOST_AUTH_METHOD" not in env


def test_no_secret_has_a_literal_default():
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for match in INTERPOLATION.finditer(text):
        if SECRET_NAME.search(match["name"]) and match["op"] in (":-", "-", ":+", "+"):
            # An empty default ("nothing to fall back on", e.g. no old keys) is not a secret.
            assert match["arg"] == "", f"{match.group(0)} gives a secret a literal default"


def test_no_literal_secret_values_are_set(services):
    for name, svc in services.items():
        env = svc.get("environment", {})
        if isinstance(env, list):
            env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
        for key, value in env.items():
            if key.endswith("_FILE"):  # names a secret's file, which holds the value
                assert str(value).startswith("/run/secrets/"), f"{name}: {key} is not a compose secret"
            elif SECRET_NAME.search(key) and value:
                assert "${" in str(value), f"{name}: {key} is a literal value"


def test_every_ehr_variable_set_is_documented_in_shared_config(services):
    documented = _documented_variables()
    assert {"EHR_AMQP_URI", "EHR_DATABASE_URL", "EHR_PII_KEY", "EHR_INDEX_KEY"} <= documented
    for name, svc in services.items():
        for key in svc.get("environment", {}) or {}:
            if key.startswith("EHR_"):  # EHR_X_FILE: EHR_X given as a file (shared/config.py)
                variable = key.removesuffix("_FILE")
                assert variable in documented, f"{name} sets {key}, which shared/config.py does not document"


def test_records_scales_out_to_competing_consumers(services):
    records = services["records"]
    assert records["deploy"]["replicas"] >= 2
    assert "ports" not in records and "container_name" not in records


def test_gateway_listens_on_all_interfaces_and_publishes_port_8000(services):
    gateway = services["gateway"]
    assert gateway["environment"]["EHR_GATEWAY_HOST"] == "0.0.0.0"
    assert 8000 in _published_targets(gateway)


def test_gateway_is_not_replicated_onto_its_fixed_host_port(services):
    gateway = services["gateway"]
    fixed = [p for p in gateway.get("ports", []) if isinstance(p, str) and p.count(":") >= 1]
    replicas = gateway.get("deploy", {}).get("replicas", 1)
    assert not (fixed and replicas > 1), "replicas of one container port cannot share a fixed host port"


def test_gateway_healthcheck_calls_the_health_endpoint_with_python(services):
    test = services["gateway"]["healthcheck"]["test"]
    command = " ".join(test) if isinstance(test, list) else test
    assert "python" in command and "urllib" in command
    assert "http://127.0.0.1:8000/api/v1/health" in command


def test_the_gateways_healthcheck_is_its_own_liveness_not_the_other_services(services):
    command = " ".join(services["gateway"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/api/v1/health/live'" in command


def test_compose_runs_exactly_the_services_of_the_descriptor_list(app_services):
    assert set(app_services) == set(SERVICES) | {"migrate"}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_has_a_liveness_healthcheck(services, service):
    check = services[service]["healthcheck"]
    test = check["test"]
    assert test[0] == "CMD"
    if not suite.service(service).http:
        assert test[1:] == ["ehr", "health", service]  # its heartbeat file: asks no other service
    assert {"interval", "timeout", "retries", "start_period"} <= set(check)


def test_compose_migrate_loads_no_demo_data(services):
    assert "--demo-data" not in services["migrate"]["command"]
    assert services["migrate"]["command"] == ["migrate"]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_connects_to_its_own_database_as_its_own_role_with_its_own_password(services, service):
    descriptor = suite.service(service)
    env = services[service]["environment"]
    url = env[descriptor.database_url_variable]
    assert url == f"postgresql://ehr_{service}_app@postgres:5432/ehr_{service}", url
    others = [d for d in suite.SERVICES if d.name != service]
    for other in others:
        assert other.database_url_variable not in env and not any(
            key.startswith(other.database_password_variable) for key in env), f"{service} sees {other.name}'s database"
    secret = _secret_file(service, services[service], descriptor.database_password_variable)
    assert secret == f"ehr_{service}_database_password"
    assert "POSTGRES_PASSWORD" not in str(env) and "postgres_password" not in services[service]["secrets"]


def test_only_migrate_holds_the_owners_password_and_sets_every_roles_password(services):
    env = services["migrate"]["environment"]
    for descriptor in suite.SERVICES:
        assert "${POSTGRES_PASSWORD:?" in env[descriptor.database_url_variable]
        _secret_file("migrate", services["migrate"], descriptor.database_password_variable)


def test_every_secret_is_read_from_the_environment_and_used(compose, services):
    used = {secret for svc in services.values() for secret in svc.get("secrets", [])}
    for name, source in compose["secrets"].items():
        assert set(source) == {"environment"}, f"{name}: a secret of compose's environment (.env)"
    assert set(compose["secrets"]) - {"postgres_password"} <= used


@pytest.mark.parametrize("service", sorted(set(SERVICES) | {"migrate", "rabbitmq", "postgres"}))
def test_every_container_has_bounded_logs_and_memory(services, service):
    svc = services[service]
    assert svc["logging"]["driver"] == "json-file"
    assert svc["logging"]["options"]["max-size"] and int(svc["logging"]["options"]["max-file"]) >= 1
    assert re.fullmatch(r"\d+[MG]", svc["deploy"]["resources"]["limits"]["memory"])


def test_dotenv_is_kept_out_of_version_control():
    ignored = {line.strip() for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()}
    assert ".env" in ignored


# --- Dockerfile ---------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        logical.append(current)
        current = ""
    pairs = []
    for text in logical:
        keyword, _, args = text.partition(" ")
        pairs.append((keyword.upper(), args.strip()))
    return pairs


def test_dockerfile_builds_on_python_3_11():
    bases = [args.split()[0] for keyword, args in _instructions() if keyword == "FROM"]
    assert bases and all(base.startswith("python:3.11") for base in bases)


def test_dockerfile_installs_the_locked_dependencies_then_the_project():
    runs = [args for keyword, args in _instructions() if keyword == "RUN"]
    assert any("--require-hashes -r requirements.lock" in run for run in runs)  # the runtime lock, hashed
    assert any(re.search(r"pip install --no-deps \.(\s|$)", run) for run in runs)


def test_the_image_leaves_out_the_test_lock_the_tests_and_the_benchmarks():
    assert "requirements-test.lock" not in " ".join(args for _, args in _instructions())
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()}
    assert {"tests", "bench", "requirements-test.lock"} <= ignored
    runtime = {line.split("==")[0].lower() for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
               if "==" in line and not line.startswith((" ", "#"))}
    assert "werkzeug" in runtime and not runtime & {"faker", "pytest", "hypothesis", "schemathesis"}


def test_dockerfile_runs_as_a_non_root_user():
    users = [args for keyword, args in _instructions() if keyword == "USER"]
    assert users, "no USER instruction: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_dockerfile_entrypoint_is_the_ehr_command():
    entrypoints = [args for keyword, args in _instructions() if keyword == "ENTRYPOINT"]
    assert entrypoints and entrypoints[-1] == '["ehr"]'


def test_dockerfile_bakes_in_no_secrets():
    for keyword, args in _instructions():
        if keyword in ("ENV", "ARG"):
            assert not SECRET_NAME.search(args), f"{keyword} {args} looks like a secret"


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_build_context():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()}
    assert {".venv", "var", ".git", ".env", "**/__pycache__", "**/.pytest_cache"} <= ignored


def test_compose_broker_has_no_guest_account_and_the_suite_uses_its_internal_one(services, shared_env):
    rabbitmq = services["rabbitmq"]["environment"]
    assert rabbitmq["RABBITMQ_DEFAULT_USER"].startswith("${RABBITMQ_USER:?")  # created instead of guest
    assert "guest" not in shared_env["EHR_AMQP_URI"]
    assert shared_env["EHR_AMQP_URI"].startswith("amqp://${RABBITMQ_USER:?")


def test_compose_broker_bounds_message_size_and_serves_the_management_api_to_ehr_broker(services, shared_env):
    assert "-rabbit max_message_size 8388608" in services["rabbitmq"]["environment"]["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"]
    assert services["rabbitmq"]["image"].endswith("-management")
    assert shared_env["EHR_BROKER_ADMIN_URL"].endswith("@rabbitmq:15672")


# --- systemd units (hosts without Docker) -------------------------------------------------

SYSTEMD = ROOT / "deploy" / "systemd"


def _unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values, in order]}} (systemd allows a key many times);
    anything that is not a section, a comment, a blank or KEY=VALUE fails the test."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if re.fullmatch(r"\[[A-Za-z]+\]", stripped):
            current = sections.setdefault(stripped[1:-1], {})
            continue
        key, sep, value = stripped.partition("=")
        assert current is not None and sep and re.fullmatch(r"[A-Za-z]+", key), f"{path.name}:{number}: {line!r}"
        current.setdefault(key, []).append(value)
    return sections


def _unit_of(service: str) -> Path:
    plain, template = SYSTEMD / f"ehr-{service}.service", SYSTEMD / f"ehr-{service}@.service"
    assert plain.exists() != template.exists(), f"{service}: one unit, ehr-{service}.service or a template"
    return plain if plain.exists() else template


def _environment(unit: dict) -> dict[str, str]:
    return dict(item.split("=", 1) for item in unit["Service"].get("Environment", []))


def _command(unit: dict) -> list[str]:
    (exec_start,) = unit["Service"]["ExecStart"]
    program, *args = exec_start.split()
    assert program.endswith("/bin/ehr"), exec_start
    return args


def test_every_systemd_unit_parses():
    units = sorted(SYSTEMD.glob("*.service")) + sorted(SYSTEMD.glob("*.target"))
    assert len(units) == len(SERVICES) + 2  # every service, migrate, and the target
    for path in units:
        unit = _unit(path)
        assert unit["Unit"]["Description"] and unit["Install"]["WantedBy"]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_has_a_unit_running_it_after_the_migrations(service):
    path = _unit_of(service)
    unit = _unit(path)
    assert _command(unit) == ["run", service]
    from ehr.cli import main

    assert "run" in main.commands and service in main.commands["run"].params[0].type.choices
    assert "ehr-migrate.service" in unit["Unit"]["Requires"][0].split()
    assert "ehr-migrate.service" in unit["Unit"]["After"][0].split()
    assert unit["Service"]["Restart"] == ["on-failure"] and unit["Service"]["MemoryMax"]
    env = _environment(unit)
    instance = "%i" if path.name.endswith("@.service") else ""
    assert env["EHR_PROCESS"] == (f"{service}.%i" if instance else service)
    assert unit["Service"]["RuntimeDirectory"] == ["ehr"]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_unit_loads_only_its_services_keys_and_password_as_credentials(service):
    descriptor = suite.service(service)
    unit = _unit(_unit_of(service))
    credentials = dict(item.split(":", 1) for item in unit["Service"]["LoadCredential"])
    # besides keys and password, a secret setting of its own (the sync service's EHR_PLATFORM_TOKEN)
    assert set(credentials) - set(descriptor.settings) == {*descriptor.keys, descriptor.database_password_variable}
    env = _environment(unit)
    for name, source in credentials.items():
        assert source == f"/etc/ehr/credentials/{name}"
        assert env[f"{name}_FILE"] == f"%d/{name}"  # read through EHR_*_FILE (shared/config.py)
        assert name not in env
    assert env[descriptor.database_url_variable] == f"postgresql://ehr_{service}_app@127.0.0.1:5432/ehr_{service}"


def test_the_migrate_unit_is_a_oneshot_ehr_migrate_without_demo_data():
    unit = _unit(SYSTEMD / "ehr-migrate.service")
    assert _command(unit) == ["migrate"]
    assert unit["Service"]["Type"] == ["oneshot"] and unit["Service"]["RemainAfterExit"] == ["yes"]
    from ehr.cli import main

    assert "migrate" in main.commands
    credentials = {item.split(":", 1)[0] for item in unit["Service"]["LoadCredential"]}
    assert credentials == {s.database_password_variable for s in suite.SERVICES}


def test_the_environment_file_example_holds_no_secret():
    for line in (SYSTEMD / "ehr.env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            assert not SECRET_NAME.search(key), key
            assert not re.search(r"://[^:/@]+:(?!CHANGE-ME@)[^@]+@", value), f"{key} holds a password"
