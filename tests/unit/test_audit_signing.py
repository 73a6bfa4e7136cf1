"""The checkpoint key lives in a private file outside the database, made once; verifiers
need only its public half."""

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.audit.signing import (
    checkpoint_signed_by,
    ensure_checkpoint_key,
    key_id,
    load_public_key,
    load_signing_key,
    sign_checkpoint,
)

pytestmark = pytest.mark.unit


def test_the_key_is_made_once_private_with_its_public_half_beside_it(tmp_path: Path) -> None:
    path = ensure_checkpoint_key(tmp_path)
    again = ensure_checkpoint_key(tmp_path)
    assert again == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = load_signing_key(path)
    public = load_public_key(path.with_name("audit-checkpoint-key.pub.pem"))
    assert key_id(public) == key.key_id == key_id(load_public_key(path))


def test_a_checkpoint_verifies_only_unchanged_and_with_its_key(tmp_path: Path) -> None:
    key = load_signing_key(ensure_checkpoint_key(tmp_path))
    other = load_signing_key(ensure_checkpoint_key(tmp_path / "elsewhere"))
    signed = sign_checkpoint(
        key, sequence=1, count=5, head="ab" * 32, signed_at=datetime.now(UTC), previous=None
    )
    assert checkpoint_signed_by(key.public, signed)
    assert not checkpoint_signed_by(other.public, signed)
    assert not checkpoint_signed_by(key.public, signed.model_copy(update={"count": 6}))
