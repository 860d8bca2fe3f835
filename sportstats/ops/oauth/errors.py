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
