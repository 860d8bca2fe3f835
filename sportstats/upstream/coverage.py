"""What the API key's plan covers: set by the operator, or learned from the upstream (`auto`).

The upstream answers 401 both to a bad key and to a route outside the key's plan. A key
accepted on one route and refused on another lacks that route's plan; a 401 on a route every
plan serves (or on every route) is a bad key. What was learned is remembered (`plan_memory`,
shared through Redis where configured) for `upstream.plan_memory_s`, or until SIGHUP, so no
question spends a call to be refused again; questions on what is not covered are refused
before any call, naming the plan that serves it.

Until `auto` knows the plan it budgets as the cheapest plan does, so the upstream never sees
more than the plan allows. Listeners (the client's budget, MCP's tool list) are told of every
change of the plan or of the routes on offer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from .. import errors
from ..errors import UpstreamFailure
from .plan_memory import Learned, PlanMemory
from .plans import AUTO, BY_NAME, CHEAPEST, Plan, cheapest_serving
from .routes import LEAGUE, League, Route

log = logging.getLogger(__name__)

SYNC_S = 1.0  # how stale this process's copy of the shared facts may be before a call
KEY_RECHECK_S = 60.0  # a rejected key is tried again (one call) after this long


@dataclass(frozen=True)
class Change:
    """What changed: the plan (and so the budget), or only the routes on offer."""

    plan_changed: bool
    routes_changed: bool


class Coverage:
    """The plan of the key and the routes it covers, as set or learned so far."""

    def __init__(
        self,
        setting: str,
        memory: PlanMemory,
        memory_s: float,
        requests_per_minute: int | None = None,
        league: League = LEAGUE,
    ) -> None:
        self.setting = setting
        self.memory = memory
        self.memory_s = memory_s
        self.override = requests_per_minute
        self.league = league
        self.learned = Learned()
        self.key_accepted = False  # seen answered on some route since start or SIGHUP
        self.once_refused: set[str] = (
            set()
        )  # routes refused since start or SIGHUP, even if forgotten
        self._synced_at = float("-inf")
        self.listeners: list[Callable[[Change], None]] = []
        # What this server answers on the plan, for a refusal's hint (the core says: `app`).
        self.instead: Callable[[], str] = lambda: ""

    # What is known now.
    @property
    def plan(self) -> Plan | None:
        """The plan set, or learned; None while `auto` has not learned it."""
        if self.setting != AUTO:
            return BY_NAME[self.setting]
        return BY_NAME.get(self.learned.plan or "")

    @property
    def source(self) -> str:
        """`set`, `learned` or `unknown` (auto, not learned yet)."""
        if self.setting != AUTO:
            return "set"
        return "learned" if self.plan is not None else "unknown"

    @property
    def requests_per_minute(self) -> int:
        """The budget: the override, else the plan's, else (plan unknown) the cheapest's."""
        if self.override is not None:
            return self.override
        return (self.plan or CHEAPEST).requests_per_minute

    @property
    def key_rejected(self) -> bool:
        return self.learned.key_rejected_until > time.time()

    def covers(self, route: Route) -> bool:
        """May `route` be asked? Not when refused before, nor outside the known plan.

        Asked on every answer, cache hits included: a look-up, not a copy of what is known."""
        refused_until = self.learned.refused.get(route.name)
        if refused_until is not None and refused_until > time.time():
            return False
        plan = self.plan
        return plan is None or plan.serves(route)

    def known_to_serve(self, route: Route) -> bool:
        """The plan is known and serves `route`: where a cheaper way to an answer needs it (a
        night from its box scores, the upstream's standings), it is taken only then, never on
        a guess that a 401 would turn into a refusal of a question the plan can answer."""
        return self.plan is not None and self.covers(route)

    def describe(self) -> dict[str, object]:
        """For /readyz, /metrics and the start-up line."""
        plan = self.plan
        return {
            "plan": plan.name if plan else None,
            "plan_label": plan.label if plan else None,
            "source": self.source,
            "setting": self.setting,
            "requests_per_minute": self.requests_per_minute,
            "refused_routes": sorted(self.learned.current(time.time()).refused),
            "key": "rejected" if self.key_rejected else "accepted" if self.key_accepted else None,
        }

    def plan_words(self) -> str:
        plan = self.plan
        if plan is None:
            return "this server's plan (not known yet)"
        return f"the {plan.label} plan this server's key has"

    # Refusals, before any call.
    def refusal(self, route: Route) -> UpstreamFailure | None:
        """The failure a question on `route` gets without a call, or None: it may be asked."""
        if self.key_rejected:
            return key_rejected()
        if self.covers(route):
            return None
        return self.not_covered(route)

    def check(self, route: Route) -> None:
        """Raise the plan refusal where the key's plan does not cover `route`."""
        if not self.covers(route):
            raise self.not_covered(route)

    def not_covered(self, route: Route) -> errors.PlanNotCovered:
        needs = cheapest_serving(route)
        return errors.PlanNotCovered(
            f"This needs the upstream's {route.name} data, which {self.plan_words()} does not"
            f" include: the {needs.label} plan (or a higher one) serves it.",
            needs=needs.label,
            instead=self.instead(),
        )

    # Learning from answers.
    async def sync(self, force: bool = False) -> None:
        """Read the shared facts, if this copy is older than `SYNC_S` (or `force`)."""
        if not self.memory.shared or (not force and time.monotonic() - self._synced_at < SYNC_S):
            return
        self._synced_at = time.monotonic()
        self._adopt(await self.memory.read())

    def _adopt(self, learned: Learned) -> None:
        before_plan = self.plan
        before_refused = set(self.learned.current(time.time()).refused)
        self.learned = learned
        self.key_accepted = self.key_accepted or learned.plan is not None
        after_refused = set(learned.refused)
        self._tell(before_plan is not self.plan, before_refused != after_refused)

    def _tell(self, plan_changed: bool, routes_changed: bool) -> None:
        if not (plan_changed or routes_changed):
            return
        change = Change(plan_changed, routes_changed or plan_changed)
        for listener in self.listeners:
            listener(change)

    async def learn_plan(self, plan: Plan) -> None:
        await self.memory.learn_plan(plan.name, time.time() + self.memory_s)
        self.key_accepted = True
        before = self.plan
        self.learned.plan, self.learned.plan_until = plan.name, time.time() + self.memory_s
        log.info(
            "upstream plan learned: %s, %d requests a minute%s",
            plan.label,
            self.requests_per_minute,
            "" if before is None else f" (was {before.label})",
        )
        self._tell(before is not plan, False)

    async def answered(self, route: Route) -> None:
        """The upstream answered `route` (not a refusal): the key is good, the route served."""
        if self.key_rejected:
            log.warning("the upstream accepts this server's API key again")
            await self.memory.reject_key(0.0)
            self.learned.key_rejected_until = 0.0
        self.key_accepted = True
        if route.name in self.learned.refused or route.name in self.once_refused:
            self.once_refused.discard(route.name)
            log.warning(
                "the upstream answered %s, refused before: the key's plan changed; learning it"
                " again",
                route.name,
            )
            await self.relearn(route)

    async def relearn(self, route: Route) -> None:
        """The plan is not what was learned: forget it (auto learns it anew)."""
        self.learned.refused.pop(route.name, None)
        await self.memory.accept(route.name)
        if self.setting == AUTO:
            self.learned.plan, self.learned.plan_until = None, 0.0
        self._tell(self.setting == AUTO, True)

    async def refused(self, route: Route) -> UpstreamFailure:
        """The upstream answered 401 on `route` while the key is accepted elsewhere (or the
        route is one every plan serves, then the key itself is refused): remember which."""
        if cheapest_serving(route) is CHEAPEST:
            return await self.reject_key()
        until = time.time() + self.memory_s
        await self.memory.refuse(route.name, until)
        self.learned.refused[route.name] = until
        self.once_refused.add(route.name)
        log.warning(
            "the upstream refused %s while it accepts the key elsewhere: not in %s; remembered"
            " for %g s",
            route.name,
            self.plan_words(),
            self.memory_s,
        )
        self._tell(False, True)
        return self.not_covered(route)

    async def reject_key(self) -> errors.KeyRejected:
        until = time.time() + KEY_RECHECK_S
        await self.memory.reject_key(until)
        self.learned.key_rejected_until = until
        log.error(
            "the upstream rejects this server's API key (401 on every route): check"
            " BALLDONTLIE_API_KEY; questions get 503 upstream_key_rejected"
        )
        return key_rejected()

    async def forget(self) -> None:
        """SIGHUP: forget what was learned (the plan, refused routes, a rejected key)."""
        had = self.learned.current(time.time())
        await self.memory.forget()
        self.learned = Learned()
        self.key_accepted = False
        self.once_refused.clear()
        log.info(
            "forgot the learned upstream plan (%s) and %d refused routes",
            had.plan or "not learned",
            len(had.refused),
        )
        self._tell(self.setting == AUTO and had.plan is not None, bool(had.refused))


def key_rejected() -> errors.KeyRejected:
    return errors.KeyRejected(
        "The upstream data service rejects this server's API key on every route: the key is"
        " invalid, expired or revoked (not a missing plan)."
    )
