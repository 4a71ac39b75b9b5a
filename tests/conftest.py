from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from monev.rubric import Rubric, load_rubric

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "questionnaires" / "contoh"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite the golden files under tests/golden/ from the current output.",
    )


@pytest.fixture(scope="session")
def rubric() -> Rubric:
    return load_rubric("ki-jatim-2024")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
