"""`GET /api/v1/docs`: the OpenAPI document as one plain, readable HTML page.

No script and nothing fetched from elsewhere (the suite runs where there is no CDN): every
operation with its parameters, body, responses and who may call it, then every schema with its
fields, all generated from the document itself.

    render(build_spec())  -> "<!doctype html><html lang=zh-CN>..."
"""

from __future__ import annotations

from html import escape

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2.5rem}
.op{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:4.5rem;font-weight:bold;text-transform:uppercase}
.public{color:#2a7;font-size:.85em}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.2rem .6rem;text-align:left}
code{background:#f4f4f4;padding:0 .2rem}
"""


def _ref_name(schema: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if schema.get("type") == "array":
        return f"array of {_ref_name(schema.get('items', {}))}"
    text = schema.get("type", "object")
    if schema.get("format"):
        text += f" ({schema['format']})"
    if schema.get("enum"):
        text += ": " + ", ".join(str(v) for v in schema["enum"])
    return escape(text)


def _body_schema(content: dict) -> str:
    for media, body in content.items():
        schema = body.get("schema", {})
        if isinstance(schema, str):
            schema = {"$ref": f"#/components/schemas/{schema}"}
        return f"{_ref_name(schema)} <small>({escape(media)})</small>"
    return ""


def _operation(path: str, method: str, op: dict) -> str:
    public = op.get("security") == []
    parts = [f'<div class="op"><span class="method">{escape(method)}</span> <code>{escape(path)}</code>',
             ' <span class="public">public</span>' if public else "",
             f"<p>{escape(op.get('summary', ''))}</p>"]
    if op.get("description"):
        parts.append(f"<p>{escape(op['description'])}</p>")
    if op.get("x-roles") is not None:
        roles = ", ".join(f"<code>{escape(role)}</code>" for role in op["x-roles"])
        parts.append(f"<p>Who may: {roles or 'no role'} (<code>{escape(op.get('x-action', ''))}</code>)</p>")
    params = op.get("parameters", [])
    if params:
        rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
            f"<td>{'yes' if p.get('required') else ''}</td><td>{_ref_name(p.get('schema', {}))}</td>"
            f"<td>{escape(p.get('description', ''))}</td></tr>" for p in params)
        parts.append(f"<table><tr><th>parameter</th><th>in</th><th>required</th><th>type</th><th></th></tr>"
                     f"{rows}</table>")
    if "requestBody" in op:
        parts.append(f"<p>Body: {_body_schema(op['requestBody'].get('content', {}))}</p>")
    rows = "".join(f"<tr><td>{escape(status)}</td><td>{escape(resp.get('description', ''))}</td>"
                   f"<td>{_body_schema(resp.get('content', {}))}</td></tr>"
                   for status, resp in op.get("responses", {}).items())
    parts.append(f"<table><tr><th>status</th><th>meaning</th><th>body</th></tr>{rows}</table></div>")
    return "".join(parts)


def _schema(name: str, schema: dict) -> str:
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(field)}</code></td><td>{_ref_name(prop)}</td>"
        f"<td>{'yes' if field in required else ''}</td>"
        f"<td>{escape(str(prop.get('description', prop.get('example', ''))))}</td></tr>"
        for field, prop in schema.get("properties", {}).items())
    return (f'<h3 id="schema-{escape(name)}">{escape(name)}</h3>'
            f"<table><tr><th>field</th><th>type</th><th>required</th><th>note</th></tr>{rows}</table>")


def render(spec: dict) -> str:
    info = spec.get("info", {})
    ops = "".join(_operation(path, method, op) for path, methods in spec.get("paths", {}).items()
                  for method, op in methods.items())
    schemas = "".join(_schema(name, s) for name, s in spec.get("components", {}).get("schemas", {}).items())
    title = escape(f"{info.get('title', 'API')} {info.get('version', '')}")
    return (f"<!doctype html><html lang=zh-CN><head><meta charset=utf-8><title>{title}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{title}</h1>"
            f"<p>{escape(info.get('description', ''))}</p>"
            f'<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI '
            f"{escape(spec.get('openapi', ''))}).</p><h2>Operations</h2>{ops}<h2>Schemas</h2>{schemas}"
            f"</body></html>")
