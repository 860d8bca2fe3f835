"""The standings ledger's options: how much of the upstream budget filling it may take, how
often it is brought current, and when the background fill begins."""

from __future__ import annotations

from pydantic import model_validator

from .base import Float, Section, SettingsError, option


class StandingsSettings(Section):
    """How the ledger of finished games is filled and kept current."""

    fill_share: Float = option(
        0.2,
        "the most of the upstream budget filling the standings ledger may spend in a minute while"
        " testers are asking (at least one call); while none are, whatever they leave unused",
    )
    refresh_s: Float = option(
        600.0,
        "while games of the open date are live, how often the ledger asks whether they are final",
    )
    start_delay_s: Float = option(
        30.0,
        "seconds after start-up that the background fill of the current season begins"
        " (after start-up's own upstream calls); a negative value: only on demand",
    )
    answer_wait_s: Float = option(
        5.0,
        "how long a standings question may spend filling the ledger itself before it answers"
        " as of the last complete date",
    )

    @model_validator(mode="after")
    def _check(self) -> StandingsSettings:
        if not 0 < self.fill_share <= 1:
            raise SettingsError(
                f"standings.fill_share must be above 0 and at most 1, got {self.fill_share:g}"
            )
        if self.refresh_s <= 0 or self.answer_wait_s < 0:
            raise SettingsError(
                "standings.refresh_s must be above 0 and standings.answer_wait_s not negative"
            )
        return self
