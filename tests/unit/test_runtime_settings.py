"""The tuning settings every service reads: sensible defaults, and a clear refusal of values
that would not work."""

import pytest
from pydantic import ValidationError

from services.runtime.settings import ServiceSettings


def settings(**env: str) -> ServiceSettings:
    return ServiceSettings(database_url="postgresql://svc@127.0.0.1/db", **env)  # type: ignore[arg-type]


def test_defaults_batch_consumption_and_publish_uncompressed() -> None:
    defaults = settings()

    assert (defaults.consumer_batch_max_records, defaults.consumer_batch_timeout_ms) == (200, 20)
    assert (defaults.producer_linger_ms, defaults.producer_compression) == (5, "none")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("producer_compression", "lz4"),
        ("consumer_batch_max_records", "0"),
        ("consumer_batch_timeout_ms", "0"),
        ("producer_linger_ms", "-1"),
    ],
)
def test_a_value_that_would_not_work_is_refused_naming_the_setting(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(**{field: value})

    assert refused.value.errors()[0]["loc"] == (field,)
