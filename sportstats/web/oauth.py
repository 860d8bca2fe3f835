"""OAuth over HTTP (`auth.mode: oauth`): the metadata documents, the sign-in page, the token and
registration endpoints. The protocol's decisions are `ops.oauth`'s; this room turns requests
into its calls and its `OAuthError`s into OAuth's error answers (JSON, or the page again).

Bodies are read here, strictly: a form must be `application/x-www-form-urlencoded` UTF-8 with
each parameter once (RFC 6749 section 3.1), registration metadata small JSON; anything else is a
400 in OAuth's words, never an exception.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from yarl import URL

from ..ops.auth import CLIENT_ADDRESS, MCP_PATH, RESOURCE_METADATA_PATH
from ..ops.oauth.errors import OAuthError
from ..ops.oauth.metadata import MAX_METADATA_BYTES
from ..ops.oauth.server import AuthorizationServer, SignInRequest, resources_of
from .keys import ACCESS, OAUTH, SETTINGS
from .plugin import public_url

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The metadata documents: cached by the client only, never by a shared cache, which could hand
# one client's answer (its Host) to another.
METADATA_CACHE = {"Cache-Control": "private, max-age=300"}
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 40
# The page's own styles, its form posted back here only, never framed.
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
)
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to sportstats</title>
<style>
body{{font:16px/1.5 system-ui,sans-serif;margin:0;padding:24px;background:#f6f7f9;color:#17181a}}
main{{max-width:420px;margin:0 auto;background:#fff;border:1px solid #dfe1e5;border-radius:12px;
padding:24px}}
h1{{font-size:22px;margin:0 0 8px}} p{{margin:8px 0}}
label{{display:block;margin-top:16px;font-weight:600}}
input[type=password]{{width:100%;box-sizing:border-box;font-size:18px;padding:10px;margin-top:6px;
border:1px solid #b9bdc4;border-radius:8px}}
button{{margin-top:18px;width:100%;font-size:18px;padding:12px;border:0;border-radius:8px;
background:#0b57d0;color:#fff}}
.error{{color:#b3261e;font-weight:600}} .small{{font-size:13px;color:#5d6168}}
</style></head><body><main>
<h1>Sign in to sportstats</h1>
<p><strong>{client}</strong> asks to use sportstats (NBA stats) for you.</p>
{error}
<form method="post" action="/authorize">
{fields}
<label for="tester_key">Your tester key</label>
<input type="password" id="tester_key" name="tester_key" autocomplete="current-password"
 required autofocus>
<button type="submit">Sign in</button>
</form>
<p class="small">The key is the one the server's operator gave you. You will be sent back to
{back}.</p>
</main></body></html>
"""


def sign_in_page(request: SignInRequest, error: str = "", status: int = 200) -> web.Response:
    fields = "\n".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in request.form_fields().items()
    )
    page = PAGE.format(
        client=html.escape(request.client_name),
        error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
        fields=fields,
        back=html.escape(URL(request.redirect_uri).host or request.redirect_uri),
    )
    headers = {**NO_STORE, "Content-Security-Policy": PAGE_POLICY}
    return web.Response(text=page, content_type="text/html", status=status, headers=headers)


def error_page(exc: OAuthError) -> web.Response:
    """A refused authorization request: told to the tester, never redirected anywhere."""
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport"'
        ' content="width=device-width, initial-scale=1"><title>Sign-in refused</title></head>'
        f"<body><h1>This sign-in cannot go on</h1><p>{html.escape(exc.description)}</p>"
        f"<p><code>{html.escape(exc.error)}</code></p></body></html>"
    )
    headers = dict(NO_STORE)
    if exc.retry_after_s:
        headers["Retry-After"] = str(math.ceil(exc.retry_after_s))
    return web.Response(text=page, content_type="text/html", status=exc.status, headers=headers)


def oauth_error(exc: OAuthError) -> web.Response:
    headers = dict(NO_STORE)
    if exc.retry_after_s:
        headers["Retry-After"] = str(math.ceil(exc.retry_after_s))
    return web.json_response(exc.body(), status=exc.status, headers=headers)


async def read_form(request: web.Request) -> dict[str, str]:
    """The request's form, or `OAuthError`: urlencoded, UTF-8, each parameter at most once."""
    if request.content_type != FORM_TYPE:
        raise OAuthError("invalid_request", f"Send the form as {FORM_TYPE}.")
    try:
        text = (await request.read()).decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS
        )
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "The form is not valid UTF-8.") from None
    except ValueError:
        raise OAuthError(
            "invalid_request", f"The form has more than {MAX_FORM_FIELDS} fields."
        ) from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthError("invalid_request", f"The parameter {name[:40]!r} is sent twice.")
        form[name] = value
    return form


async def read_metadata(request: web.Request) -> Any:
    """Registration metadata: JSON, at most `MAX_METADATA_BYTES`, or `OAuthError`."""
    body = await request.read()
    if len(body) > MAX_METADATA_BYTES:
        raise OAuthError(
            "invalid_client_metadata", f"The metadata is over {MAX_METADATA_BYTES} bytes."
        )
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise OAuthError("invalid_client_metadata", "Send the metadata as JSON.") from None


async def resource_metadata(request: web.Request) -> web.Response:
    """RFC 9728: this server as a protected resource, and who issues its tokens."""
    base = public_url(request)
    mcp, whole = resources_of(base)
    issuer = request.app[SETTINGS].auth.issuer or base
    return web.json_response(
        {
            "resource": mcp if request.path.endswith(MCP_PATH) else whole,
            "authorization_servers": [issuer],
            "bearer_methods_supported": ["header"],
            "scopes_supported": [],
            "resource_name": "sportstats NBA stats",
        },
        headers=METADATA_CACHE,
    )


async def server_metadata(request: web.Request) -> web.Response:
    return web.json_response(
        AuthorizationServer.metadata(public_url(request)), headers=METADATA_CACHE
    )


async def authorize(request: web.Request) -> web.Response:
    """GET: the sign-in page for a checked request. POST: the tester's key; right, a code and
    the redirect back; wrong, the page again (and the failure counted)."""
    try:
        params: Any = request.query if request.method == "GET" else await read_form(request)
        sign_in = await request.app[OAUTH].sign_in_request(params, public_url(request))
        if request.method == "GET":
            return sign_in_page(sign_in)
        return await _sign_in(request, sign_in, str(params.get("tester_key", "")))
    except OAuthError as exc:
        return error_page(exc)


async def _sign_in(request: web.Request, sign_in: SignInRequest, key: str) -> web.Response:
    server = request.app[OAUTH]
    address = request.get(CLIENT_ADDRESS) or request.remote or ""
    wait_s, receipt = await server.sign_in_attempt(address)
    if wait_s:
        error = f"Too many wrong keys; try again in {wait_s} seconds."
        response = sign_in_page(sign_in, error, status=429)
        response.headers["Retry-After"] = str(wait_s)
        return response
    tester = request.app[ACCESS].tester(key)
    if tester is None:  # the attempt stays counted
        return sign_in_page(sign_in, "That key was not accepted. Check it and try again.", 401)
    await server.sign_in_right(address, receipt)
    code = await server.issue_code(sign_in, tester)
    answer = {"code": code, "iss": public_url(request)}
    if sign_in.state:
        answer["state"] = sign_in.state
    back = URL(sign_in.redirect_uri).update_query(answer)
    raise web.HTTPFound(back, headers=NO_STORE)


async def token(request: web.Request) -> web.Response:
    try:
        form = await read_form(request)
        tokens = await request.app[OAUTH].token(form, public_url(request))
    except OAuthError as exc:
        return oauth_error(exc)
    return web.json_response(tokens, headers=NO_STORE)


async def register(request: web.Request) -> web.Response:
    address = request.get(CLIENT_ADDRESS) or request.remote or ""
    try:
        metadata = await read_metadata(request)
        client = await request.app[OAUTH].clients.register(metadata, address)
    except OAuthError as exc:
        return oauth_error(exc)
    return web.json_response(client, status=201, headers=NO_STORE)


def setup_oauth_routes(app: web.Application, own_server: bool) -> list[web.AbstractRoute]:
    """The metadata routes (and, with our own authorization server, its endpoints)."""
    routes = [
        app.router.add_get(RESOURCE_METADATA_PATH, resource_metadata, name="oauth_resource"),
        app.router.add_get(
            RESOURCE_METADATA_PATH + MCP_PATH, resource_metadata, name="oauth_resource_mcp"
        ),
    ]
    if own_server:
        sign_in = app.router.add_resource("/authorize", name="oauth_authorize")
        routes += [
            app.router.add_get(
                "/.well-known/oauth-authorization-server", server_metadata, name="oauth_server"
            ),
            sign_in.add_route("GET", authorize),
            sign_in.add_route("POST", authorize),
            app.router.add_post("/token", token, name="oauth_token"),
            app.router.add_post("/register", register, name="oauth_register"),
        ]
    return routes
