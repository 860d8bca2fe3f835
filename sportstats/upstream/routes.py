"""The upstream's routes, declared once: path, array params, paging, freshness, the plans
that serve each.

The client builds URLs from these, the budget and the plan refusals ask which plans serve a
route, the core's endpoints each name the route they ask, and the spec says which plan an
operation needs. Another league of the same vendor (they share the API's conventions) is one
more `League` declaration, not new code: no league's name appears outside its declaration.

Paths are written as the vendor's OpenAPI description documents them today (`/nba/v1/...`,
`/nba/v2/...`), under a configurable base (`upstream_url`). An older base that ends in `/v1`
(`https://api.balldontlie.io/v1`, the vendor's first NBA address, still served) is read as the
base without it, the routes without the league's prefix: `RouteBase.read` says which reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from yarl import URL

# The vendor's plans, cheapest first (their declarations, budgets included: `plans`).
FREE, ALL_STAR, GOAT = "free", "all-star", "goat"
FROM_FREE = (FREE, ALL_STAR, GOAT)
FROM_ALL_STAR = (ALL_STAR, GOAT)
ONLY_GOAT = (GOAT,)

HOUR_S = 3600
DAY_S = 86_400
# The vendor's array filters, sent repeated with PHP-style brackets (`team_ids[]=1&team_ids[]=2`).
ID_ARRAYS = ("team_ids", "player_ids")


@dataclass(frozen=True)
class Route:
    """One upstream route as the vendor documents it.

    `name` is the route under its league and version (`players/active`), used in logs and
    metrics; `path` the documented path (`/nba/v1/players/active`), with `{placeholders}` for
    path parameters; `arrays` the query params it takes as arrays (sent as `name[]`); `paged`
    whether it pages by cursor; `fresh_s` how long its settled data stays true (the cache caps
    it for live or current data); `plans` the plans that serve it, cheapest first.
    """

    name: str
    path: str
    plans: tuple[str, ...]
    fresh_s: int
    arrays: tuple[str, ...] = ()
    paged: bool = False
    path_params: tuple[str, ...] = ()

    def served_by(self, plan: str) -> bool:
        return plan in self.plans

    @property
    def cheapest_plan(self) -> str:
        return self.plans[0]

    def filled(self, **path_params: str) -> str:
        """The path with its `{placeholders}` filled in."""
        missing = set(self.path_params) - set(path_params)
        if missing:
            raise ValueError(f"route {self.name} needs {', '.join(sorted(missing))}")
        return self.path.format(**path_params) if self.path_params else self.path

    def query(self, params: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """Query pairs as this route spells them: its arrays with brackets."""
        return [(f"{name}[]" if name in self.arrays else name, value) for name, value in params]


@dataclass(frozen=True)
class League:
    """One league of the vendor: its name as sources cite it, its path prefix, its routes."""

    name: str
    source: str  # how answers cite the data, e.g. "BALLDONTLIE NBA API"
    prefix: str  # the league's segment in the documented paths, e.g. "/nba"
    zone: str  # where its game days are counted (IANA name): a game's date is its day there
    routes: Mapping[str, Route] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Route:
        return self.routes[name]


def _routes(*routes: Route) -> Mapping[str, Route]:
    return MappingProxyType({route.name: route for route in routes})


_STATS_ARRAYS = ("player_ids", "game_ids", "dates", "seasons")

# Every route of the vendor's NBA API this server uses, or the next answers will use.
NBA = League(
    name="NBA",
    source="BALLDONTLIE NBA API",
    prefix="/nba",
    zone="America/New_York",  # a 10:30 pm Eastern game is on that Eastern day
    routes=_routes(
        Route("teams", "/nba/v1/teams", FROM_FREE, DAY_S),
        Route("players", "/nba/v1/players", FROM_FREE, 6 * HOUR_S, ID_ARRAYS, paged=True),
        Route(
            "games",
            "/nba/v1/games",
            FROM_FREE,
            3 * DAY_S,
            ("dates", "seasons", "team_ids"),
            paged=True,
        ),
        Route("stats", "/nba/v1/stats", FROM_ALL_STAR, 3 * DAY_S, _STATS_ARRAYS, paged=True),
        Route("season_averages", "/nba/v1/season_averages", FROM_ALL_STAR, 3 * DAY_S),
        Route(
            "players/active", "/nba/v1/players/active", FROM_ALL_STAR, 6 * HOUR_S, ID_ARRAYS, True
        ),
        Route("player_injuries", "/nba/v1/player_injuries", FROM_ALL_STAR, 600, ID_ARRAYS, True),
        Route("leaders", "/nba/v1/leaders", ONLY_GOAT, 3 * HOUR_S),
        Route("standings", "/nba/v1/standings", ONLY_GOAT, HOUR_S),
        Route("box_scores", "/nba/v1/box_scores", ONLY_GOAT, 3 * DAY_S),
        Route("box_scores/live", "/nba/v1/box_scores/live", ONLY_GOAT, 30),
        Route(  # the vendor's path names the placeholder {type}: one name for both here
            "season_averages/{category}",
            "/nba/v1/season_averages/{category}",
            ONLY_GOAT,
            3 * DAY_S,
            ("player_ids",),
            paged=True,
            path_params=("category",),
        ),
        Route(
            "team_season_averages/{category}",
            "/nba/v1/team_season_averages/{category}",
            ONLY_GOAT,
            3 * DAY_S,
            ("team_ids",),
            paged=True,
            path_params=("category",),
        ),
        Route(
            "stats/advanced",
            "/nba/v2/stats/advanced",
            ONLY_GOAT,
            3 * DAY_S,
            _STATS_ARRAYS,
            paged=True,
        ),
    ),
)

# The league this server answers for.
LEAGUE = NBA
ROUTES = LEAGUE.routes


@dataclass(frozen=True)
class RouteBase:
    """Where the routes live: the configured base, and how it was read."""

    base: URL
    strip_prefix: str  # the league prefix dropped from each path ("" for the current base)
    reading: str  # one line for the log: how `upstream_url` was read

    @classmethod
    def read(cls, upstream_url: str, league: League = LEAGUE) -> RouteBase:
        """The base as configured: a bare host (or any base under which the documented paths
        live), or an older `.../v1` base, still served by the vendor with the league's routes
        at `/v1/...` and `/v2/...`."""
        url = URL(upstream_url.rstrip("/"))
        path = url.path.rstrip("/")
        for old in (f"{league.prefix}/v1", "/v1"):
            if path.endswith(old):
                base = url.with_path(path[: -len(old)] or "/")
                strip = league.prefix if old == "/v1" else ""
                shown = f"{str(base).rstrip('/')}{'' if strip else league.prefix}/v1/..."
                return cls(
                    base,
                    strip,
                    f"upstream_url {upstream_url} ends in {old}: read as the base"
                    f" {str(base).rstrip('/')}, routes at {shown}",
                )
        return cls(
            url,
            "",
            f"upstream_url {upstream_url}: routes at {str(url).rstrip('/')}{league.prefix}/v1/...",
        )

    def url(self, route: Route, params: Sequence[tuple[str, str]], **path_params: str) -> URL:
        path = route.filled(**path_params)
        if self.strip_prefix and path.startswith(self.strip_prefix + "/"):
            path = path[len(self.strip_prefix) :]
        return URL(str(self.base).rstrip("/") + path).with_query(route.query(params))
