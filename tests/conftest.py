"""Session fixtures shared by every test layer that needs the real stack."""

import pytest

from infra import stack
from infra.kafka_config import with_layout_of_state_dir
from infra.settings import InfraSettings
from tests.support import kafka_auth


@pytest.fixture(scope="session")
def infra_settings() -> InfraSettings:
    """The test stack's settings (one Kafka node or three, as its state dir holds); refuses to
    run against the default (developer's) state dir."""
    settings = InfraSettings()
    if "state_dir" not in settings.model_fields_set:
        pytest.fail("set HUB_STATE_DIR (and test ports) so tests never touch the dev stack")
    return with_layout_of_state_dir(settings)


@pytest.fixture(scope="session")
def stack_env(infra_settings: InfraSettings) -> dict[str, str]:
    """Kafka + PostgreSQL up and provisioned; the values of ``<state_dir>/env``.

    Deliberately not torn down: the next run finds the servers running and starts in seconds.
    ``hub infra down`` with the same HUB_STATE_DIR stops them.
    """
    env = stack.up(infra_settings)
    kafka_auth.remember(env)
    return env
