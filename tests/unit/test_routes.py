"""The gateway's route table is the one description of its routes: the entrypoints, the access
matrix and the OpenAPI document are held to it here, so that no second table can drift from it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from services.gateway import access
from services.gateway.openapi import build_spec
from services.gateway.routes import ROUTES, Answer, Route
from services.gateway.routes.route import documented

ROOT = Path(__file__).resolve().parents[2]


def _operations(spec: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, ops in spec["paths"].items() for method in ops}


def test_every_declared_route_is_in_the_document_and_every_documented_operation_is_a_route():
    declared = {(r.method.lower(), r.openapi_path) for r in ROUTES if r.documented}
    assert declared == _operations(build_spec())
    assert [r.name for r in ROUTES if not r.documented] == ["openapi"]  # the document leaves out only itself


def test_routes_are_declared_once_each():
    names = [r.name for r in ROUTES]
    rules = [(r.method, r.path) for r in ROUTES]
    assert len(set(names)) == len(names) and len(set(rules)) == len(rules)


def test_the_gateway_has_one_entrypoint_per_route_with_its_method_and_url():
    from nameko.web.handlers import HttpRequestHandler

    from services.gateway.service import GatewayService

    entrypoints = {(name, e.method, e.url) for name, attr in vars(GatewayService).items()
                   for e in getattr(attr, "nameko_entrypoints", ()) if isinstance(e, HttpRequestHandler)}
    from services.gateway.web.pages import PAGES

    routes = {e for e in entrypoints if not e[0].startswith("page_")}
    assert routes == {(r.name, r.method, r.path) for r in ROUTES}
    # and one per web page, beside them (services/gateway/web)
    assert entrypoints - routes == {(f"page_{p.name}", p.method, p.path) for p in PAGES}


def test_every_guarded_route_has_its_action_in_the_access_matrix_and_every_action_a_route():
    guarded = [r.action for r in ROUTES if r.action is not None]
    in_matrix = {a for perms in access.PERMISSIONS.values() for a in perms}
    assert set(guarded) <= in_matrix, {a.name for a in set(guarded) - in_matrix}
    assert in_matrix <= set(guarded), {a.name for a in in_matrix - set(guarded)}  # no action without a route
    assert len(guarded) == len(set(guarded))  # one route per action: the audit trail names the route


def test_a_route_naming_an_archive_in_its_path_is_scope_checked_and_only_such_a_route():
    for route in ROUTES:
        names_archive = "archive_no" in dict(route.path_values)
        archive_action = route.action is not None and route.action.archive is not None
        assert names_archive == archive_action, route.name


def test_public_routes_are_exactly_sign_in_health_and_the_document():
    assert {r.name for r in ROUTES if r.action is None} == {"sign_in", "health", "health_live", "health_ready",
                                                              "root", "openapi", "docs"}


def test_a_route_added_to_the_table_is_in_the_document():
    extra = Route("GET", "/api/v1/health/alive", "live", None, lambda c: {"status": "ok"},
                  summary="The gateway process answers", answers=(Answer(200, "Alive"),), tag="meta")
    spec = build_spec((*ROUTES, extra))
    assert spec["paths"]["/api/v1/health/alive"]["get"] == {
        "operationId": "live", "tags": ["meta"], "summary": "The gateway process answers", "security": [],
        "responses": {"200": {"description": "Alive"}}}


def test_guarded_operations_document_401_and_403_and_those_reading_input_400():
    spec = build_spec()
    for route in ROUTES:
        if not route.documented:
            continue
        responses = spec["paths"][route.openapi_path][route.method.lower()]["responses"]
        if route.action is not None:
            assert {"401", "403"} <= set(responses), route.name
        if route.body or route.query:
            assert "400" in responses, route.name


def test_query_parameters_are_never_null_in_the_document():
    for ops in build_spec()["paths"].values():
        for op in ops.values():
            for parameter in op.get("parameters", []):
                if parameter["in"] == "query":
                    schema = parameter["schema"]
                    assert "nullable" not in schema and schema.get("default", "") is not None, parameter
                    assert None not in schema.get("enum", []), parameter


def test_the_document_imports_no_service_package():
    tree = ast.parse((ROOT / "services/gateway/openapi.py").read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in modules if m.startswith("services.") and not m.startswith("services.gateway")} == set()


def test_a_documented_schema_loads_as_its_original_and_says_more():
    from marshmallow import ValidationError

    from shared.contracts.gateway import GrantQuerySchema

    noted = documented(GrantQuerySchema, since={"format": "date-time"})
    good = {"since": "2026-12-01T00:00:00+08:00", "limit": "5"}
    assert noted().load(good) == GrantQuerySchema().load(good)
    for bad in ({"since": "yesterday"}, {"limit": "0"}, {"since": "x" * 41}):
        with pytest.raises(ValidationError):
            noted().load(bad)
    assert noted._declared_fields["since"].metadata["format"] == "date-time"
    assert "format" not in GrantQuerySchema._declared_fields["since"].metadata


def test_each_guarded_operation_names_its_action_and_the_roles_the_matrix_permits_it():
    spec = build_spec()
    for route in ROUTES:
        if route.action is None or not route.documented:
            continue
        op = spec["paths"][route.openapi_path][route.method.lower()]
        assert op["x-action"] == route.action.name
        assert set(op["x-roles"]) == {role for role, perms in access.PERMISSIONS.items() if route.action in perms}
    assert spec["paths"]["/api/v1/merges"]["post"]["x-roles"] == ["archive_manager"]
