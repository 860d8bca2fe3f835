"""An operator's own authorization server instead of ours (`auth.issuer`): its JWT access tokens
are checked for signature (keys from its JWKS, fetched and cached), issuer, audience and expiry
by PyJWT. The tester's name is the token's subject.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp
import jwt

from ...settings import AuthSettings
from .server import resources_of

log = logging.getLogger(__name__)

KEYS_TTL_S = 600
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]
FETCH_TIMEOUT_S = 5.0


class ExternalIssuer:
    def __init__(self, settings: AuthSettings) -> None:
        self.issuer = settings.issuer
        self.jwks_url = settings.jwks_url
        self.audience = settings.audience
        self._keys: dict[str, Any] = {}
        self._fetched = 0.0
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _key(self, kid: str | None) -> Any:
        """The signing key `kid` names (refetched once when it is new to us)."""
        stale = time.monotonic() - self._fetched > KEYS_TTL_S
        if stale or kid not in self._keys:
            await self._fetch()
        return self._keys.get(kid) if kid else next(iter(self._keys.values()), None)

    async def _fetch(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
        try:
            async with self._session.get(self.jwks_url, timeout=timeout) as response:
                keys = jwt.PyJWKSet.from_dict(await response.json(content_type=None))
        except (TimeoutError, aiohttp.ClientError, ValueError, jwt.PyJWTError) as exc:
            log.warning("the issuer's keys could not be fetched from %s: %s", self.jwks_url, exc)
            return
        self._keys = {key.key_id: key for key in keys.keys}
        self._fetched = time.monotonic()

    async def tester_of(self, token: str, base: str) -> str | None:
        """The subject of a valid token for this server, else None."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        key = await self._key(header.get("kid"))
        if key is None:
            return None
        audience = [self.audience] if self.audience else list(resources_of(base))
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        return str(claims["sub"])[:100]
