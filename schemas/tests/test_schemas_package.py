"""The package: its public API, pydantic as its only dependency, no I/O at import."""

import subprocess
import sys
from importlib.metadata import requires

import pytest
import referral_schemas

pytestmark = pytest.mark.contract

_IMPORT_WATCHING_OPENS = """
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
import referral_schemas
print("\\n".join(path for path in opened if not path.endswith((".py", ".pyc", ".so"))))
"""


@pytest.mark.parametrize("name", referral_schemas.__all__)
def test_public_names_are_importable(name: str) -> None:
    assert getattr(referral_schemas, name) is not None


def test_the_only_dependency_is_pydantic() -> None:
    dependencies = requires("referral-hub-schemas") or []
    assert [dependency.split(">")[0].strip() for dependency in dependencies] == ["pydantic"]


def test_import_reads_no_data_files() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_WATCHING_OPENS],
        capture_output=True,
        check=True,
        text=True,
    )
    assert ".json" not in result.stdout
    assert "samples" not in result.stdout
