"""Key files, written one way: Ed25519 private keys as PKCS#8 PEM, mode 0600, never half
written, and the stack's key layout in ``<state_dir>/secrets/``.

Used by provisioning (`hub infra up`), by `hub keys` and by tests; a service only reads the
key file its settings name.
"""

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

TOKEN_KEY = "token-signing-key.pem"  # noqa: S105 (a file name)
"""Signs the staff APIs' tokens locally (`hub token`, the console's demo sign-in)."""
CHECKPOINT_KEY = "audit-checkpoint-key.pem"
"""Signs the audit ledger's checkpoints."""


PrivateKey = Ed25519PrivateKey | X25519PrivateKey


def private_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _temporary(path: Path, data: bytes) -> Path:
    """``data`` in a 0600 file beside ``path``, unique to this process."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return tmp


def write_private(path: Path, data: bytes) -> None:
    """``data`` in ``path``, a file only its owner can read (0600, a new folder 0700),
    replacing what was there in one step: key files, passwords, the stack's env file."""
    _temporary(path, data).replace(path)


def replace_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write ``key`` to ``path`` (0600), replacing what was there in one step (rotation)."""
    write_private(path, private_pem(key))


def ensure_key_pair(
    private_path: Path,
    public_path: Path,
    generate: Callable[[], PrivateKey] = Ed25519PrivateKey.generate,
) -> tuple[Path, Path]:
    """A private key at ``private_path`` (0600), made once (Ed25519 unless ``generate``
    says otherwise), and its public key beside it.

    Safe when several processes call it at once: the private key is linked into place only
    if absent, and the public key is always derived from the private key that won.
    """
    if not private_path.is_file():
        tmp = _temporary(private_path, private_pem(generate()))
        try:
            os.link(tmp, private_path)  # fails if another process got there first: keep theirs
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    private = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if not public_path.is_file() or public_path.read_bytes() != public:
        _temporary(public_path, public).replace(public_path)
    return private_path, public_path


def public_path_of(private_path: Path) -> Path:
    """``x.pem`` -> ``x.pub.pem``."""
    return private_path.with_name(private_path.name.removesuffix(".pem") + ".pub.pem")


def stack_key_pair(state_dir: Path, name: str) -> tuple[Path, Path]:
    """The stack's key ``name`` (``TOKEN_KEY``, ``CHECKPOINT_KEY``) in ``<state_dir>/secrets``."""
    private_path = state_dir / "secrets" / name
    return ensure_key_pair(private_path, public_path_of(private_path))
