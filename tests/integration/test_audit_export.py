"""Exports are verifiable offline: `hub audit verify --file` accepts an untouched export
(JSON Lines or its HTML report) and refuses one with a single changed byte."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from typer.testing import CliRunner

from services.audit import export
from services.audit.checkpoints import make_checkpoint
from services.audit.signing import SigningKey, public_pem
from services.audit_tools.file_check import verify_file
from services.audit_tools.report import extract_export
from services.hub.audit_commands import audit_app
from services.runtime.clock import SystemClock
from tests.integration.runtime_fixtures import Schema
from tests.integration.test_audit_support import append, ledger_schema, referral_records

pytestmark = pytest.mark.integration
RID = uuid.uuid4()


@pytest.fixture
async def ledger(stack_env: dict[str, str]) -> AsyncIterator[Schema]:
    async with ledger_schema(stack_env) as schema:
        await append(schema, referral_records(uuid.uuid4()) + referral_records(RID))
        yield schema


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "audit-checkpoint-key.pem"
    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    path.write_bytes(pem)
    return path


async def _cli(*args: str) -> tuple[int, str]:
    """The command in a thread: it runs its own event loop, as it does from a shell."""
    result = await asyncio.to_thread(CliRunner().invoke, audit_app, list(args))
    return result.exit_code, result.output


def _flip_one_byte(data: bytes, inside: bytes) -> bytes:
    at = data.index(inside)
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


async def test_export_of_a_referral_verifies_and_one_changed_byte_fails(
    ledger: Schema, key_file: Path, tmp_path: Path
) -> None:
    output = tmp_path / "referral.jsonl"
    code, text = await _cli(
        "export", "--referral", str(RID), "-o", str(output), "--dsn", ledger.dsn,
        "--key-file", str(key_file),
    )  # fmt: skip
    assert code == 0, text
    lines = [json.loads(line) for line in output.read_bytes().splitlines()]
    assert [line["kind"] for line in lines] == ["header"] + ["entry"] * 5 + ["seal"]
    assert {line["referral_id"] for line in lines if line["kind"] == "entry"} == {str(RID)}
    code, text = await _cli("verify", "--file", str(output))
    assert (code, "the export verifies" in text) == (0, True), text
    html = output.with_suffix(".html")
    assert extract_export(html.read_bytes()) == output.read_bytes()
    assert (await _cli("verify", "--file", str(html)))[0] == 0

    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(_flip_one_byte(output.read_bytes(), b"user:"))
    code, text = await _cli("verify", "--file", str(tampered))
    assert code == 1
    assert "do not match its seal" in text
    assert "content does not match its hash" in text


async def test_a_resealed_forgery_is_named_and_refused_by_the_trusted_key(
    ledger: Schema, key_file: Path, tmp_path: Path
) -> None:
    conn = await ledger.connect()
    try:
        key = SigningKey(Ed25519PrivateKey.generate())
        assert await make_checkpoint(conn, key, SystemClock()) is not None
        start = datetime.now(UTC) - timedelta(hours=1)
        found = await export.gather(conn, start=start)
    finally:
        await conn.close()
    assert [e.position for e in found.entries] == list(range(1, 13))
    genuine = export.render(found, key, datetime.now(UTC))
    assert verify_file(genuine, key.public).ok
    # A forger edits an entry and seals the file again with a key of their own.
    lines = genuine.splitlines(keepends=True)
    entry = json.loads(lines[3])
    entry["actor"] = "user:someone-else"
    body = b"".join([*lines[:3], json.dumps(entry).encode() + b"\n", *lines[4:-1]])
    forger = SigningKey(Ed25519PrivateKey.generate())
    resealed = export.render(found, forger, datetime.now(UTC))  # a valid seal of the forger's
    forged = body + resealed.splitlines(keepends=True)[-1]
    checked = verify_file(forged, key.public)
    assert not checked.ok
    assert checked.first_bad_entry == 3
    refused = verify_file(resealed, key.public).problems
    assert any("other than the trusted one" in p for p in refused)
    assert public_pem(key.public) != public_pem(forger.public)
