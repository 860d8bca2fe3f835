"""Standings: the ledger of a season's finished games, kept current (`ledger`, `keeper`), apart
from the arithmetic that ranks a table from it (`arithmetic`). The core asks this room as it asks
the cache; it knows the upstream's games and nothing of the surfaces or the core."""

from .arithmetic import TIE_BREAK, Game, TeamInfo, table
from .keeper import LedgerKeeper, LedgerView
from .ledger import Ledger

__all__ = ["TIE_BREAK", "Game", "Ledger", "LedgerKeeper", "LedgerView", "TeamInfo", "table"]
