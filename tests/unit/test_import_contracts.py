"""The import contracts of `make lint` (pyproject.toml, [tool.importlinter]) bite: the
code as it is keeps them, and one cross-service import in a copy of it breaks them."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy_of_the_code(target: Path) -> Path:
    """services, infra and the schemas package side by side, with the contracts."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "migrations", "static", "templates")
    shutil.copytree(ROOT / "services", target / "services", ignore=ignore)
    shutil.copytree(ROOT / "infra", target / "infra", ignore=ignore)
    schemas = ROOT / "schemas" / "src" / "referral_schemas"
    shutil.copytree(schemas, target / "referral_schemas", ignore=ignore)
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert contracts["contracts"], "pyproject.toml names the contracts"
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=where,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(where)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_code_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_copy_of_the_code(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 6 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("services/intake/sneaky.py", "from services.routing import handlers", "No service"),
        ("services/casework/sneaky.py", "import services.audit.store", "No service"),
        ("infra/sneaky.py", "from services.casework import store", "Provisioning"),
        ("services/runtime/sneaky.py", "import services.intake", "shared runtime"),
        ("services/replay/sneaky.py", "from services.casework import store", "publish for it"),
        ("services/audit/sneaky.py", "from services.replay import run", "auditors' tooling"),
        ("services/audit/sneaky.py", "from services.audit_tools import report", "tooling ("),
    ],
)
def test_one_forbidden_import_fails_the_lint(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    code = _copy_of_the_code(tmp_path)
    (code / module).write_text(f"{line}  # the mistake a newcomer might make\n")

    result = _lint(code)

    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if "BROKEN" in row]
    assert any(contract in row for row in broken), result.stdout
