"""Casework's key to people: the X25519 key pair the referrals' data keys are wrapped for
(services.runtime.sealing, docs/privacy.md).

The private key (``<state>/keys/personal/details-reader.pem``, 0600) goes to casework alone
(``CASEWORK_PERSONAL_DATA_KEY_FILE``); the public key to intake, which seals for it
(``INTAKE_PERSONAL_DATA_READER_KEY_FILE``). Made once; losing the private key loses every
referral's personal details, so it belongs in the operator's backups of keys, apart from
the database's.
"""

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from services.runtime.key_files import ensure_key_pair, public_path_of


def reader_key_path(root: Path) -> Path:
    return root / "keys" / "personal" / "details-reader.pem"


def ensure_personal_data_keys(root: Path) -> dict[str, str]:
    """The key pair (made if missing) and the env values naming its halves."""
    private = reader_key_path(root)
    private_path, public_path = ensure_key_pair(
        private, public_path_of(private), X25519PrivateKey.generate
    )
    return {
        "CASEWORK_PERSONAL_DATA_KEY_FILE": str(private_path),
        "INTAKE_PERSONAL_DATA_READER_KEY_FILE": str(public_path),
    }
