"""What a client may say about itself (RFC 7591 metadata, registered or in a client metadata
document), checked and bounded, and where it may send a tester back.

A redirect URI must be on the operator's allowlist, matched exactly (a loopback entry ending in
`/*` takes any port and path). At sign-in the redirect URI must be one the client named; a
loopback one matches in any port (RFC 8252 section 7.3: a native client picks a free port each
time it runs).
"""

from __future__ import annotations

from typing import Any

from yarl import URL

from .errors import OAuthError

MAX_REDIRECT_URIS = 10
MAX_REDIRECT_URI_CHARS = 500
MAX_NAME_CHARS = 100
MAX_METADATA_BYTES = 8_192  # a registration's JSON body
GRANT_TYPES = ("authorization_code", "refresh_token")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def redirect_allowed(uri: str, allowlist: list[str]) -> bool:
    """Is `uri` on the allowlist: the same text, or a loopback entry's host with any port/path?"""
    if uri in allowlist:
        return True
    given = _url(uri)
    if given is None:
        return False
    for entry in allowlist:
        if not entry.endswith("/*"):
            continue
        allowed = URL(entry[:-2])
        if (
            allowed.host in LOOPBACK_HOSTS
            and given.scheme == allowed.scheme
            and given.host == allowed.host
            and not given.user
            and not given.fragment
        ):
            return True
    return False


def redirect_matches(given: str, registered: list[str]) -> bool:
    """Is `given` one of the client's redirect URIs: the same text, or a loopback one that
    differs in its port only (RFC 8252 section 7.3)?"""
    if given in registered:
        return True
    url = _url(given)
    if url is None or url.scheme != "http" or url.host not in LOOPBACK_HOSTS:
        return False
    for uri in registered:
        other = _url(uri)
        if other is not None and other.with_port(None) == url.with_port(None):
            return True
    return False


def _url(text: str) -> URL | None:
    try:
        url = URL(text)
        url.port, url.host  # noqa: B018 -- a bad port or IDNA host fails here, not later
    except (ValueError, TypeError):  # UnicodeError is a ValueError
        return None
    return url if url.is_absolute() else None


def checked_redirects(uris: Any, allowlist: list[str]) -> list[str]:
    if not isinstance(uris, list) or not 0 < len(uris) <= MAX_REDIRECT_URIS:
        raise OAuthError(
            "invalid_redirect_uri", f"redirect_uris must list 1 to {MAX_REDIRECT_URIS} URIs."
        )
    for uri in uris:
        if not isinstance(uri, str) or len(uri) > MAX_REDIRECT_URI_CHARS:
            raise OAuthError(
                "invalid_redirect_uri",
                f"Each redirect URI must be text of at most {MAX_REDIRECT_URI_CHARS} characters.",
            )
        if not redirect_allowed(uri, allowlist):
            raise OAuthError(
                "invalid_redirect_uri",
                f"The redirect URI {uri[:120]!r} is not one this server sends testers to.",
            )
    return uris


def checked_metadata(metadata: Any, allowlist: list[str]) -> dict[str, Any]:
    """The metadata we keep of a client (name, redirect URIs, grant types), or `OAuthError`."""
    if not isinstance(metadata, dict):
        raise OAuthError("invalid_client_metadata", "Send the client metadata as a JSON object.")
    name = metadata.get("client_name")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME_CHARS):
        raise OAuthError(
            "invalid_client_metadata",
            f"client_name must be text of at most {MAX_NAME_CHARS} characters.",
        )
    grants = metadata.get("grant_types", list(GRANT_TYPES))
    if (
        not isinstance(grants, list)
        or not grants
        or not all(isinstance(grant, str) and grant in GRANT_TYPES for grant in grants)
    ):
        raise OAuthError(
            "invalid_client_metadata",
            "grant_types must list one or both of authorization_code, refresh_token.",
        )
    checked = {
        "client_name": name.strip() or None if name else None,
        "redirect_uris": checked_redirects(metadata.get("redirect_uris"), allowlist),
        "grant_types": list(dict.fromkeys(grants)),
    }
    return {k: v for k, v in checked.items() if v is not None}
