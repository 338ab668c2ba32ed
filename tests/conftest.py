"""Shared fixtures."""

from pathlib import Path

import pytest

SHIPSNET_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "shipsnet"


@pytest.fixture(scope="session")
def shipsnet_dir():
    """The read-only real ShipsNet copy at ``../shared/data/shipsnet``."""
    if not SHIPSNET_DIR.exists():
        pytest.skip(f"real ShipsNet copy not found at {SHIPSNET_DIR}")
    return SHIPSNET_DIR
