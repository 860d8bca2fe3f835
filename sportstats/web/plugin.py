"""The plugin files: manifest, OpenAPI spec and logo, with the public URL filled in.

The spec is generated from the endpoint declarations, so it cannot drift from what is validated
and served. `python -m sportstats.web.plugin` rewrites the committed copies (`openapi.yaml`,
`ai-plugin.json`) for a local server; a test fails when they are out of date.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from .. import __version__
from ..core import guide
from ..core.endpoints import ENDPOINTS, Endpoint
from ..core.tables import column_type, nullable
from ..ops.auth import manifest_auth, public_base
from ..upstream.plans import CHEAPEST, cheapest_serving
from .keys import ACCESS, SETTINGS

LOCAL_URL = "http://localhost:5001"
NAME_FOR_MODEL = "sportstats"
NAME_FOR_HUMAN = "NBA Stats"
DESCRIPTION_FOR_HUMAN = "NBA players, teams, games, box scores and season averages, as tables."
DESCRIPTION_FOR_MODEL = guide.for_http()  # the MCP instructions' words, with paths
ERROR_STATUSES = {
    "400": "Invalid parameters: the message names the parameter and what is allowed.",
    "404": "No such record upstream.",
    "403": "The upstream plan of this server's key does not serve this (plan_not_covered): the"
    " message names the plan that does, the hint what this server answers instead.",
    "414": "The URL is too long: ask for fewer values per request.",
    "429": "Rate limit or upstream quota reached; see Retry-After.",
    "431": "The request headers are too large or too many.",
    "502": "The upstream data service failed or refused the request.",
    "503": "The upstream data service is unavailable for a moment, or rejects this server's"
    " API key (upstream_key_rejected).",
    "504": "The upstream data service did not answer in time.",
}


def public_url(request: web.Request) -> str:
    """The URL the assistant reaches us at: configured, else as the request (or its proxy) says."""
    return public_base(request, request.app[SETTINGS].public_url, request.app[ACCESS])


DEFAULT_CONTACT_EMAIL = "sportstats@example.com"


def manifest(
    base_url: str,
    auth: dict[str, Any] | None = None,
    contact_email: str = DEFAULT_CONTACT_EMAIL,
    legal_info_url: str | None = None,
) -> dict[str, Any]:
    """The plugin manifest; `auth` is its auth section (`auth.manifest_auth`), default none;
    the contact and the terms are the operator's (`contact_email`, `legal_info_url`)."""
    return {
        "schema_version": "v1",
        "name_for_human": NAME_FOR_HUMAN,
        "name_for_model": NAME_FOR_MODEL,
        "description_for_human": DESCRIPTION_FOR_HUMAN,
        "description_for_model": DESCRIPTION_FOR_MODEL,
        "auth": auth or {"type": "none"},
        "api": {"type": "openapi", "url": f"{base_url}/openapi.yaml"},
        "logo_url": f"{base_url}/logo.png",
        "contact_email": contact_email,
        "legal_info_url": legal_info_url or f"{base_url}/legal",
    }


META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "count",
        "next_cursor",
        "source",
        "query",
        "fetched_at",
        "cache",
        "upstream_calls",
    ],
    "properties": {
        "count": {"type": "integer", "description": "Rows in data."},
        "next_cursor": {
            **nullable("integer"),
            "description": "Pass as cursor for the next page; null on the last page.",
        },
        "source": {"type": "string", "description": "Where the data came from."},
        "query": {"type": "object", "description": "The question as understood, normalised."},
        "note": {"type": "string", "description": "Why an answer is empty, partial or trimmed."},
        "fetched_at": {"type": "string", "description": "When the upstream produced the data."},
        "cache": {"type": "string", "enum": ["hit", "miss", "stale", "revalidating"]},
        "upstream_calls": {
            "type": "integer",
            "minimum": 0,
            "description": "Upstream requests this answer cost (0 when it came from the cache).",
        },
        "sorted": {
            "type": "string",
            "enum": ["all", "page"],
            "description": "What `sort` ordered: the whole answer, or this page only.",
        },
        "last": {
            "type": "object",
            "description": "For last=N: games asked and found, the days searched, lookups spent.",
        },
        "truncated": {"type": "boolean"},
        "shown": {"type": "integer"},
        "total": {"type": "integer"},
        "missing_player_ids": {"type": "array", "items": {"type": "integer"}},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "hint"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "hint": {"type": "string"},
            },
        }
    },
}


def type_name(kind: str) -> str:
    """The shared schema of a column type or null: `integer` -> `NullableInteger`."""
    return "Nullable" + kind.title()


def column_types(
    endpoints: tuple[Endpoint, ...] = ENDPOINTS, name: Callable[[str], str] = type_name
) -> dict[str, Any]:
    """The nullable column types the endpoints' rows use, by `name(kind)`."""
    kinds = sorted({column_type(c) for e in endpoints for c in e.table.columns})
    return {name(kind): nullable(kind) for kind in kinds}


def _lean(schema: dict[str, Any]) -> dict[str, Any]:
    """An object schema with only its required properties, undescribed: what a tool's
    outputSchema needs to check an answer, at a third of the size (`tools/list` is read, and
    paid for in tokens, before every conversation)."""
    properties = {
        name: {k: v for k, v in schema["properties"][name].items() if k != "description"}
        for name in schema["required"]
    }
    return {"type": "object", "required": schema["required"], "properties": properties}


def spec_type(kind: str) -> str:
    return f"#/components/schemas/{type_name(kind)}"


def answer_schema(
    endpoint: Endpoint, ref: Callable[[str], str] = spec_type, described: bool = True
) -> dict[str, Any]:
    """The schema of a data answer: the spec's, and the MCP tools' outputSchema (`ref` then
    points into its own `$defs`, and the meta is `_lean`).

    Each column is a `$ref` to its nullable type (`ref(kind)`). A row holds the answer's
    `columns`: all of the table's, or those `fields` chose."""
    columns = endpoint.table.columns
    row = {
        "type": "object",
        "properties": {c: {"$ref": ref(column_type(c))} for c in columns},
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "required": ["columns", "data", "meta"],
        "properties": {
            "columns": {"type": "array", "items": {"type": "string"}},
            "data": {"type": "array", "items": row},
            "meta": META_SCHEMA if described else _lean(META_SCHEMA),
        },
    }


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    parameters = []
    for param in endpoint.params:
        parameter: dict[str, Any] = {
            "name": param.name,
            "in": "query",
            "description": param.query_description,
            "required": param.always_required,
            "schema": param.schema(),
        }
        if param.is_array:
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    schema_name = endpoint.operation_id[3:] + "Answer"
    responses: dict[str, Any] = {
        "200": {
            "description": "A table: columns, rows (data) and meta.",
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
            },
        }
    }
    for status, description in ERROR_STATUSES.items():
        responses[status] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return {
        "operationId": endpoint.operation_id,
        "summary": f"{endpoint.summary}{plan_needed(endpoint)}",
        "description": endpoint.description,
        "parameters": parameters,
        "responses": responses,
        # the cheapest upstream plan that serves it
        "x-upstream-plan": cheapest_serving(endpoint.needs).name,
    }


def plan_needed(endpoint: Endpoint) -> str:
    """Which upstream plan an operation needs, in its summary (the spec stays whole: every
    operation is listed whatever the plan; `x-upstream-plan` says it for programs)."""
    needs = cheapest_serving(endpoint.needs)
    return "" if needs is CHEAPEST else f" (upstream plan {needs.label} or higher)"


def security_schemes(base_url: str, mode: str) -> dict[str, Any]:
    """How a caller proves who it is, as the auth mode has it (none: nothing)."""
    if mode in ("service", "user"):
        return {"bearer": {"type": "http", "scheme": "bearer"}}
    if mode == "oauth":
        flow = {
            "authorizationUrl": f"{base_url}/authorize",
            "tokenUrl": f"{base_url}/token",
            "refreshUrl": f"{base_url}/token",
            "scopes": {},
        }
        return {"oauth": {"type": "oauth2", "flows": {"authorizationCode": flow}}}
    return {}


def spec(base_url: str, mode: str = "none") -> dict[str, Any]:
    """The OpenAPI 3.1 description of the data endpoints, its security as the auth mode says."""
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA, **column_types()}
    for endpoint in ENDPOINTS:
        schemas[endpoint.operation_id[3:] + "Answer"] = answer_schema(endpoint)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "sportstats NBA API",
            "version": __version__,
            "description": "NBA players, teams, games, box scores and season averages as flat"
            " tables, for AI assistants.",
        },
        "servers": [{"url": base_url}],
        "paths": {endpoint.path: {"get": _operation(endpoint)} for endpoint in ENDPOINTS},
        "components": {"schemas": schemas},
    }
    schemes = security_schemes(base_url, mode)
    if schemes:
        document["components"]["securitySchemes"] = schemes
        document["security"] = [{name: []} for name in schemes]
    return document


class _PlainDumper(yaml.SafeDumper):
    """Writes shared schemas out in full: no `&id001` anchors or `*id001` aliases in the spec."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@functools.lru_cache(maxsize=32)
def spec_yaml(base_url: str, mode: str = "none") -> str:
    return yaml.dump(
        spec(base_url, mode), Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=100
    )


def manifest_json(base_url: str, auth: dict[str, Any] | None = None, **operator: Any) -> str:
    return json.dumps(manifest(base_url, auth, **operator), indent=2) + "\n"


@functools.lru_cache(maxsize=1)
def logo_png() -> bytes:
    return resources.files("sportstats").joinpath("static/logo.png").read_bytes()


async def manifest_view(request: web.Request) -> web.Response:
    base = public_url(request)
    settings = request.app[SETTINGS]
    text = manifest_json(
        base,
        manifest_auth(settings.auth, base),
        contact_email=settings.contact_email,
        legal_info_url=settings.legal_info_url,
    )
    return web.Response(text=text, content_type="application/json")


async def spec_view(request: web.Request) -> web.Response:
    mode = request.app[SETTINGS].auth.mode
    return web.Response(text=spec_yaml(public_url(request), mode), content_type="application/yaml")


async def logo_view(request: web.Request) -> web.Response:
    return web.Response(
        body=logo_png(), content_type="image/png", headers={"Cache-Control": "max-age=86400"}
    )


async def legal_view(request: web.Request) -> web.Response:
    return web.Response(
        text="sportstats relays NBA data from the BALLDONTLIE API for personal, non-commercial"
        " use. Data belongs to its owners; no warranty of accuracy is given.\n"
    )


def write_committed_copies(root: Path) -> None:
    """Rewrite `openapi.yaml` and `ai-plugin.json` at the project root for a local server."""
    (root / "openapi.yaml").write_text(spec_yaml(LOCAL_URL), encoding="utf-8")
    (root / "ai-plugin.json").write_text(manifest_json(LOCAL_URL), encoding="utf-8")


if __name__ == "__main__":
    write_committed_copies(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
