"""What one data endpoint is: the type every declaration in `endpoints` is a value of.

Its fields are what differs between endpoints (policy objects from `policy`, the route, the
table, the parameters); its properties are what follows from its name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from ..upstream.routes import Route
from .params import Param, Query
from .policy import (
    EmptyNote,
    Freshness,
    ItemFilter,
    LedgerTable,
    PerPlayer,
    PlayerNames,
    Recent,
    TeamLabels,
    TeamNames,
)
from .tables import Table


@dataclass(frozen=True)
class Endpoint:
    """One data endpoint: what the assistant may ask and how the upstream is asked."""

    name: str
    route: Route  # the upstream route it asks (`upstream.routes`)
    table: Table
    params: tuple[Param, ...]
    summary: str
    description: str
    freshness: Freshness
    paged: bool = True
    item_filter: ItemFilter | None = None
    # Filters answered from the endpoint's complete (cached) list or page, not asked upstream:
    # (parameter, the table's column whose value must equal it, or be one of its values).
    local_filters: tuple[tuple[str, str], ...] = ()
    team_names: TeamNames | None = None
    player_names: PlayerNames | None = None
    per_player: PerPlayer | None = None
    # The question as answered, where it has defaults that depend on the day.
    complete: Callable[[Query], Query] | None = None
    # The question as the upstream is asked it, where that differs from how it was put.
    upstream_query: Callable[[Query], Query] | None = None
    team_labels: TeamLabels | None = None
    recent: Recent | None = None
    empty_notes: tuple[EmptyNote, ...] = ()
    opponent_names: TeamNames | None = None  # `opponent`, resolved as team names are
    ledger_table: LedgerTable | None = None
    # tools/list carries only the answer's outline (the spec keeps the whole schema): a newer
    # tool within what tools/list may grow by.
    outline_in_tools: bool = False
    # A sorted question whose answer spans pages is sorted whole when they fit the bound
    # (`upstream.sort_max_pages`): a night's box scores ranked across every game.
    sort_whole: bool = False
    # Where the key's plan lacks `route`, the answer is made from this one instead (standings:
    # from the finished games); the plan must serve it for the endpoint to be on offer.
    answered_from: Route | None = None

    @property
    def needs(self) -> Route:
        """The route the key's plan must serve for this endpoint to answer (`on_offer`)."""
        return self.answered_from or self.route

    @cached_property
    def teams_named(self) -> tuple[TeamNames, ...]:
        return tuple(n for n in (self.team_names, self.opponent_names) if n is not None)

    @cached_property
    def name_params(self) -> tuple[str, ...]:
        """Parameters that name teams or players, resolved to ids before the cache is asked."""
        return tuple(n.param for n in (*self.teams_named, self.player_names) if n is not None)

    @cached_property
    def local_params(self) -> tuple[str, ...]:
        """Parameters answered here from a wider cached answer: local filters, then `sort`."""
        return tuple(name for name, _ in self.local_filters) + tuple(
            p.name for p in self.params if p.kind == "sort"
        )

    @property
    def path(self) -> str:
        return f"/{self.name}"

    @property
    def operation_id(self) -> str:
        return "get" + "".join(part.title() for part in self.name.split("_"))

    @property
    def tool_name(self) -> str:
        return f"get_{self.name}"
