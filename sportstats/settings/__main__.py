"""`python -m sportstats.settings docs/configuration.md`: rewrite the docs' table of options."""

import sys
from pathlib import Path

from .table import rewrite

path = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/configuration.md")
path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
