"""Which topics the ledger records. Every topic of the hub but hub.dead-letter: that topic
holds refused records unchanged (personal data included) and only the operator may read it
(docs/security.md, "Kafka"). A refusal is still on record: each consuming service keeps its
own row of it (reason, origin, who re-drove or purged it), and the refused record itself is
ledgered where it was published (police.intelligence, referral.events...), with the
provenance that got it refused. Ledgers written before this keep their dead-letter entries;
a replay takes them as the ledger holds them (``RETIRED_TOPICS``)."""

from typing import Final

from referral_schemas.topics import ALL_TOPICS, DEAD_LETTER

RETIRED_TOPICS: Final = (DEAD_LETTER,)
"""Topics the ledger once recorded and no longer reads."""

LEDGERED_TOPICS: Final = tuple(topic for topic in ALL_TOPICS if topic not in RETIRED_TOPICS)
