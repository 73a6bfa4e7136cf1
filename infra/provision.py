"""Provision servers someone else runs (compose, a staging cluster): database, service roles
and schemas (audit's migrations, as its schema's owner), secrets and topics, then write the
env file and each service's part of it (``env.d/<service>``: what that service may read).

    DATABASE_URL=postgresql://postgres:pw@postgres:5432/postgres \\
    HUB_KAFKA_BOOTSTRAP=kafka:9092 HUB_STATE_DIR=/state python -m infra.provision
"""

import asyncio
import os
import sys

from infra.settings import InfraSettings
from infra.stack import close_state_dir, env_path, provision, write_env


def main() -> None:
    settings = InfraSettings()
    bootstrap = os.environ.get("HUB_KAFKA_BOOTSTRAP")
    if settings.database_url is None or not bootstrap:
        sys.exit("set DATABASE_URL (admin DSN) and HUB_KAFKA_BOOTSTRAP")
    admin = settings.database_url.get_secret_value()
    env = asyncio.run(provision(admin, bootstrap, settings))
    write_env(env_path(settings.root), env)
    close_state_dir(settings)
    print(f"provisioned; each service's settings in {settings.root / 'env.d'}")


if __name__ == "__main__":
    main()
