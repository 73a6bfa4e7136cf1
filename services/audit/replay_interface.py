"""What the audit service publishes for the auditors' replay (``services.replay``): how a
record becomes a ledger entry, the chain, how entries are read and written, and its
migrations. The replay rebuilds the ledger exactly as the service builds it by using these,
and nothing else of the service (see casework's replay_interface)."""

from pathlib import Path

from services.audit.chain import GENESIS, LedgerEntry, link, make_entry
from services.audit.entries import (
    EntryContent,
    Parsed,
    Provenance,
    RecordFacts,
    describe_parsed,
    parse_record,
    provenance_of,
    same_canonical,
)
from services.audit.ledgered import LEDGERED_TOPICS, RETIRED_TOPICS
from services.audit.statement_batch import StatementBatch
from services.audit.store import copy_entries, insert_entry, iter_entries

MIGRATIONS = Path(__file__).with_name("migrations")

__all__ = [
    "GENESIS",
    "LEDGERED_TOPICS",
    "MIGRATIONS",
    "RETIRED_TOPICS",
    "EntryContent",
    "LedgerEntry",
    "Parsed",
    "Provenance",
    "RecordFacts",
    "StatementBatch",
    "copy_entries",
    "describe_parsed",
    "insert_entry",
    "iter_entries",
    "link",
    "make_entry",
    "parse_record",
    "provenance_of",
    "same_canonical",
]
