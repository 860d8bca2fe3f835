"""The one refusal of the OAuth room, mapped to an answer at the web edge."""

from __future__ import annotations


class OAuthError(Exception):
    """An OAuth refusal (RFC 6749 section 5.2): its `error` code and what was wrong."""

    def __init__(
        self, error: str, description: str, status: int = 400, retry_after_s: float = 0
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.retry_after_s = retry_after_s

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class StoreUnavailable(OAuthError):
    """The grant store (Redis) cannot be reached: no sign-in and no token check until it is back
    (a token lives there, so this process has nothing to fall back on)."""

    def __init__(self) -> None:
        super().__init__(
            "temporarily_unavailable",
            "The sign-in's store is unavailable; try again in a moment.",
            503,
            1,
        )
