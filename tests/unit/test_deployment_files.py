"""The Dockerfile and docker-compose.yml, checked by parsing (no Docker engine needed): every
service the suite runs is deployed, configured from the shared EHR_* environment, and no
secret is baked in or defaulted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import shared.config
from ehr.runner import SERVICES

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


def test_each_service_is_given_its_own_keys_required_and_no_other_key(app_services):
    for name, svc in app_services.items():
        # `migrate` runs the operator's commands: they sign audit entries and internal calls.
        operator = ((("EHR_AUDIT_KEY", "EHR_SERVICE_KEY"), ()))
        required, optional = shared.config.SERVICE_KEYS.get(name, operator)
        given = {key for key in svc["environment"] if shared.config.is_key_variable(key)}
        assert given == {*required, *optional}, f"{name} is given {sorted(given)}"
        for variable in required:
            value = svc["environment"][variable]
            assert value.startswith("${" + variable + ":?"), f"{name}: {variable} must be required (:?)"
    assert "EHR_PII_KEY" not in app_services["gateway"]["environment"]


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
            if SECRET_NAME.search(key) and value:
                assert "${" in str(value), f"{name}: {key} is a literal value"


def test_every_ehr_variable_set_is_documented_in_shared_config(services):
    documented = _documented_variables()
    assert {"EHR_AMQP_URI", "EHR_DATABASE_URL", "EHR_PII_KEY", "EHR_INDEX_KEY"} <= documented
    for name, svc in services.items():
        for key in svc.get("environment", {}) or {}:
            if key.startswith("EHR_"):
                assert key in documented, f"{name} sets {key}, which shared/config.py does not document"


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
