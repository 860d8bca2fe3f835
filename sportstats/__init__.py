"""sportstats: NBA statistics for AI assistants, over the BALLDONTLIE API."""

__version__ = "0.1.0"
