"""The vendor's plans, declared once: the routes each serves and its budget.

Which routes a plan serves is read from the route table (each route names the plans that serve
it), so the two cannot drift. Budgets are the late-2026 ones (5, 60 and 600 requests a minute);
the vendor has changed them three times, so `upstream.requests_per_minute` overrides them.
`auto` is no plan: it is the server learning which one the key has (`verdicts`, `learning`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .routes import ALL_STAR, FREE, GOAT, LEAGUE, League, Route

AUTO = "auto"


@dataclass(frozen=True)
class Plan:
    """One plan: its name in the options, its name as the vendor writes it, its budget."""

    name: str
    label: str
    requests_per_minute: int
    # The cheap question that tells whether a key has this plan: a route only this plan and
    # pricier ones serve, and its params (a small answer).
    probe: tuple[str, tuple[tuple[str, str], ...]]

    def serves(self, route: Route) -> bool:
        return route.served_by(self.name)

    def routes(self, league: League = LEAGUE) -> tuple[Route, ...]:
        return tuple(route for route in league.routes.values() if self.serves(route))


PLANS: tuple[Plan, ...] = (
    Plan(FREE, "free", 5, ("teams", ())),
    Plan(ALL_STAR, "ALL-STAR", 60, ("stats", (("per_page", "1"),))),
    Plan(GOAT, "GOAT", 600, ("standings", (("season", "2024"),))),
)
BY_NAME = {plan.name: plan for plan in PLANS}
# What `upstream.plan` accepts: a plan, or `auto` to learn it from the upstream.
CHOICES = (AUTO, *BY_NAME)
CHEAPEST = PLANS[0]


def probe_route(plan: Plan, league: League = LEAGUE) -> Route:
    return league.routes[plan.probe[0]]


def cheapest_serving(route: Route) -> Plan:
    """The cheapest plan that serves `route` (the one a refusal names)."""
    return BY_NAME[route.cheapest_plan]
