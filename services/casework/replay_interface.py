"""What casework publishes for the auditors' replay (``services.replay``): its fold over
referral.events, the state it folds to, how it saves a state, and its migrations. The replay
rebuilds casework's state exactly as casework does by using these, and nothing else of
casework (an import contract in pyproject.toml and tests/unit/test_import_contracts.py)."""

from pathlib import Path

from services.casework.domain import FOLDED_TYPES, CaseState, evolve
from services.casework.store import save

MIGRATIONS = Path(__file__).with_name("migrations")

__all__ = ["FOLDED_TYPES", "MIGRATIONS", "CaseState", "evolve", "save"]
