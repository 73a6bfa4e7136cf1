"""Files at rest: what the stack writes to disk is its owner's alone. Another user of the
machine cannot read Kafka's segments (every record, personal data included), PostgreSQL's
data folder, or any key, password or trust file."""

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from referral_schemas.topics import REFERRAL_EVENTS

from infra.settings import InfraSettings

pytestmark = pytest.mark.security


def _everything_under(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if not path.is_symlink():
            yield path


def _open_to_others(root: Path) -> list[str]:
    """Paths under ``root`` that a group member or any other user could read or enter."""
    return [
        f"{path.relative_to(root.parent)} {stat.filemode(path.stat().st_mode)}"
        for path in [root, *_everything_under(root)]
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    ]


def test_kafka_segments_keys_and_secrets_are_readable_by_their_owner_only(
    stack_env: dict[str, str], infra_settings: InfraSettings
) -> None:
    root = infra_settings.root
    kafka = root / "kafka"
    segments = [p for p in kafka.rglob("*.log") if f"{REFERRAL_EVENTS}-" in str(p.parent)]
    assert segments, "the stack has written referral.events segments"
    for folder in (kafka, root / "keys", root / "secrets", root / "trust", root / "env.d"):
        assert folder.is_dir(), folder
        assert _open_to_others(folder) == [], folder
    assert stat.S_IMODE((root / "env").stat().st_mode) == 0o600


def test_postgresql_keeps_its_data_folder_to_itself(infra_settings: InfraSettings) -> None:
    data = infra_settings.root / "postgres"
    if not data.is_dir():
        pytest.fail(f"expected the embedded PostgreSQL's data under {data}")
    assert stat.S_IMODE(data.stat().st_mode) & (stat.S_IRWXG | stat.S_IRWXO) == 0
