"""Where the reference body of data lives: ``regulations/`` at the root of the checkout, or the
folder ``EGOV_REGULATIONS_DIR`` names (a test's own copy with an extra variant, a deployment's)."""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[2] / "regulations"


def regulations_dir() -> Path:
    return Path(os.environ.get("EGOV_REGULATIONS_DIR") or DEFAULT)
