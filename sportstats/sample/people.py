"""The sample league's players: invented names, drawn from a fixed seed, so every run has the
same people with the same ids.

Each current team carries 14 players; one of them a rookie (drafted this season, so absent from
the previous one) and a few of them hurt. Each team also has one former player who played the
previous season and has since retired: the vendor's `/players` lists him (with his last team),
`/players/active` does not. Ids start at `FIRST_PLAYER_ID`, far from the vendor's own, and the
surnames are rare words, so no sample player shares a real player's name.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from .teams import CURRENT, Team

SEED = 25  # the issue that asked for the sample league
FIRST_PLAYER_ID = 9_100_001
ROSTER_SIZE = 14
INJURED_PER_TEAM = (0, 1, 1, 2)  # drawn from, per team

_FIRST = (
    "Abel Ansel Arlo Barnaby Bastian Benedict Booker Calloway Cassius Cedric Cyprian Dashiell"
    " Denholm Desmond Dorian Elias Emeric Evander Fabian Felix Florian Gideon Hollis Ignatius"
    " Isidore Jasper Jethro Julian Kasimir Lazarus Leopold Lucian Magnus Marcellus Micah Nestor"
    " Octavius Orion Osric Percival Quentin Rafferty Roscoe Rufus Santino Severin Silas Solomon"
    " Tiberius Torvald Ulysses Valentin Virgil Wendell Xavier Zebulon"
)
_LAST = (
    "Ashgrove Bellwether Blackthorn Bramblewood Brightwater Cinderfell Coldharbor Copperfield"
    " Crowhurst Dunmore Eastbrook Elderwood Fairweather Fenwick Foxglove Galloway Greymantle"
    " Halloran Hawthorne Hollowell Ironwood Kettleby Kingsmere Larkspur Lockhart Marchbanks"
    " Merriweather Nettlefield Northcott Oakenshaw Pembrook Quarrington Ravensworth Redgrave"
    " Rookwood Saltonstall Shadwell Silverton Stonebridge Thistlewood Thornbury Underhill"
    " Wainwright Westerby Whitlock Wildermuth Winterbourne Wolfenden Yarborough Zennor"
)
FIRST_NAMES, LAST_NAMES = tuple(_FIRST.split()), tuple(_LAST.split())
COLLEGES = (
    "Sample State",
    "Northfield",
    "Lakeshore Tech",
    "Riverbend",
    "Pine Valley",
    "Coastal A&M",
    "Highland",
    "Summit",
    None,
)
COUNTRIES = ("USA",) * 6 + ("Canada", "France", "Serbia", "Australia", "Nigeria", "Spain")
POSITIONS = ("G", "G", "G", "F", "F", "F", "C", "G-F", "F-C")
INJURIES = (
    ("ankle", "sprained left ankle"),
    ("knee", "right knee soreness"),
    ("hamstring", "strained left hamstring"),
    ("back", "lower back tightness"),
    ("wrist", "sprained right wrist"),
)


@dataclass(frozen=True)
class Person:
    """One player: the vendor's player fields, plus what the league needs to play him."""

    id: int
    first_name: str
    last_name: str
    position: str
    height: str
    weight: str
    jersey_number: str
    college: str | None
    country: str
    draft_year: int | None
    draft_round: int | None
    draft_number: int | None
    team: Team
    skill: float  # how much of the team's minutes and shots he takes, roughly
    rookie: bool
    retired: bool
    hurt: tuple[dt.date, str, str] | None  # (since, body part, description)

    def vendor(self) -> dict[str, Any]:
        """The player as `/players` answers him: the team nested."""
        return {**self.slim(), "team": dict(self.team)}

    def slim(self) -> dict[str, Any]:
        """The player as inside box scores: no team."""
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "position": self.position,
            "height": self.height,
            "weight": self.weight,
            "jersey_number": self.jersey_number,
            "college": self.college,
            "country": self.country,
            "draft_year": self.draft_year,
            "draft_round": self.draft_round,
            "draft_number": self.draft_number,
        }

    def with_team_id(self) -> dict[str, Any]:
        """The player as inside `/stats` rows: the team as `team_id`."""
        return {**self.slim(), "team_id": self.team["id"]}


def invent_players(season: int, season_start: dt.date) -> tuple[Person, ...]:
    """Every player, current and retired, for a league whose current season is `season`."""
    rng = random.Random(SEED)
    names = [(first, last) for last in LAST_NAMES for first in FIRST_NAMES]
    rng.shuffle(names)
    people: list[Person] = []
    for team in CURRENT:
        hurt = set(rng.sample(range(ROSTER_SIZE), rng.choice(INJURED_PER_TEAM)))
        for slot in range(ROSTER_SIZE + 1):  # the last slot: the retired player
            first, last = names.pop()
            rookie = slot == ROSTER_SIZE - 1
            injury = None
            if slot in hurt and not rookie:
                part, words = rng.choice(INJURIES)
                since = season_start + dt.timedelta(days=rng.randrange(10, 40))
                injury = (since, part, words)
            people.append(_person(rng, len(people), first, last, team, slot, season, injury))
    return tuple(people)


def _person(
    rng: random.Random,
    index: int,
    first: str,
    last: str,
    team: Team,
    slot: int,
    season: int,
    hurt: tuple[dt.date, str, str] | None,
) -> Person:
    position = rng.choice(POSITIONS)
    inches = {"G": 75, "F": 79, "C": 83}[position[0]] + rng.randint(-2, 2)
    drafted = rng.random() < 0.8
    years_in = 0 if slot == ROSTER_SIZE - 1 else rng.randint(1, 12)
    return Person(
        id=FIRST_PLAYER_ID + index,
        first_name=first,
        last_name=last,
        position=position,
        height=f"{inches // 12}-{inches % 12}",
        weight=str(180 + (inches - 72) * 8 + rng.randint(-10, 15)),
        jersey_number=str(rng.randint(0, 55)),
        college=rng.choice(COLLEGES),
        country=rng.choice(COUNTRIES),
        draft_year=season - years_in if drafted else None,
        draft_round=rng.choice((1, 1, 2)) if drafted else None,
        draft_number=rng.randint(1, 30) if drafted else None,
        team=team,
        # The first slots are the starters: they play the most and shoot the most.
        skill=round(max(0.15, 1.0 - slot * 0.07 + rng.uniform(-0.08, 0.08)), 3),
        rookie=slot == ROSTER_SIZE - 1,
        retired=slot == ROSTER_SIZE,
        hurt=hurt,
    )
