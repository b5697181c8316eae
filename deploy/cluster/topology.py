"""The cluster on one machine: what runs, on which port, with which settings.

``Layout`` names the run directory (``CLUSTER_DIR``, default /tmp/threadline-cluster) and
the ports, all counted from ``CLUSTER_PORT`` (default 8100): HAProxy on it, the app servers
on the next ones, PostgreSQL's primary and replica from +10, Redis on +20, the mail sink on
+25. ``start(layout)`` starts whatever of the cluster is not running (so it can be run again,
and after a crash of any part); ``stop(layout)`` stops everything, keeping the data unless
asked to remove it. The layout is written to ``cluster.json`` in the run directory, for
tests and benchmarks that drive a running cluster.

Every Threadline process (app servers, the worker, migrate) gets its settings from the
environment only: ``app_env(layout)`` is the whole of it.
"""

import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from deploy.cluster import haproxy, postgres
from deploy.cluster.processes import ROOT, log_file, running, spawn, stop, wait_for

VENV_BIN = Path(sys.executable).parent
SPAN = 26  # ports from CLUSTER_PORT that a cluster uses
# For a load test from one address: the posting limit is raised (README, Settings), and the
# minimum delay between reading the form and sending it is off. Each can be set otherwise in
# the environment of `make cluster`.
LOAD_TEST_DEFAULTS = {
    "COMMENTS_RATE_LIMIT": "6000/m",
    "COMMENTS_MIN_SUBMIT_SECONDS": "0",
    "WEB_CONCURRENCY": "2",
}
# A cache that may be emptied at any time: nothing saved to disk (docs/deploy.md, Redis).
REDIS_CONF = """\
bind 127.0.0.1
port {port}
dir {run_dir}
save ""
appendonly no
maxmemory 256mb
maxmemory-policy allkeys-lru
"""


@dataclass(frozen=True)
class Layout:
    run_dir: Path
    port: int
    app_servers: int = 2
    app_ports: list[int] = field(default_factory=list)

    @classmethod
    def from_env(cls, environ=os.environ) -> "Layout":
        run_dir = Path(environ.get("CLUSTER_DIR") or "/tmp/threadline-cluster")  # noqa: S108
        return cls.at(run_dir, int(environ.get("CLUSTER_PORT") or 8100))

    @classmethod
    def at(cls, run_dir: Path, port: int) -> "Layout":
        return cls(run_dir.resolve(), port, 2, [port + 1, port + 2])

    @classmethod
    def fresh(cls, prefix: str) -> "Layout":
        """A new run directory under /tmp and ports nobody listens on (tests, benchmarks)."""
        return cls.at(Path(tempfile.mkdtemp(prefix=prefix)), free_span())

    @property
    def primary_port(self) -> int:
        return self.port + 10

    @property
    def replica_port(self) -> int:
        return self.port + 11

    @property
    def redis_port(self) -> int:
        return self.port + 20

    @property
    def smtp_port(self) -> int:
        return self.port + 25

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def app_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.app_ports]

    @property
    def primary_url(self) -> str:
        return postgres.dsn(self.primary_port)

    @property
    def replica_url(self) -> str:
        return postgres.dsn(self.replica_port)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def mail_dir(self) -> Path:
        return self.run_dir / "mail"

    def describe(self) -> dict:
        return {
            **asdict(self),
            "run_dir": str(self.run_dir),
            "url": self.url,
            "app_urls": self.app_urls,
            "primary_url": self.primary_url,
            "replica_url": self.replica_url,
            "redis_url": self.redis_url,
            "smtp_port": self.smtp_port,
            "mail_dir": str(self.mail_dir),
        }


def secret_key(layout: Layout) -> str:
    """One SECRET_KEY per cluster, kept in its run directory (sessions outlive restarts)."""
    path = layout.run_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def app_env(layout: Layout) -> dict[str, str]:
    """The environment of every Threadline process of the cluster."""
    settings = {
        **LOAD_TEST_DEFAULTS,
        **{name: os.environ[name] for name in LOAD_TEST_DEFAULTS if name in os.environ},
        "DEBUG": "0",
        "SECRET_KEY": secret_key(layout),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": layout.url,
        # Plain HTTP on the loopback: a real deployment terminates TLS in front of HAProxy.
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "TRUSTED_PROXY_COUNT": "1",  # HAProxy appends the reader's address
        "DATABASE_URL": layout.primary_url,
        "DATABASE_REPLICA_URL": layout.replica_url,
        "REDIS_URL": layout.redis_url,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(layout.smtp_port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_TIMEOUT": "10",
    }
    return {**os.environ, **settings}


def manage(layout: Layout, *args: str) -> None:
    done = subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=app_env(layout),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cluster: manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


def start_redis(layout: Layout) -> None:
    if running(layout.run_dir, "redis"):
        return
    config = layout.run_dir / "redis.conf"
    config.write_text(REDIS_CONF.format(port=layout.redis_port, run_dir=layout.run_dir))
    argv = [shutil.which("redis-server") or "redis-server", str(config)]
    spawn(layout.run_dir, "redis", argv, dict(os.environ))
    wait_for(
        lambda: _listening(layout.redis_port),
        timeout=20,
        what="Redis",
        log=log_file(layout.run_dir, "redis"),
    )


def start_mail_sink(layout: Layout) -> None:
    """An SMTP server that files every message it accepts in a Maildir (run dir, mail/)."""
    if running(layout.run_dir, "mail-sink"):
        return
    argv = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{layout.smtp_port}"]
    argv += ["-c", "aiosmtpd.handlers.Mailbox", str(layout.mail_dir)]
    spawn(layout.run_dir, "mail-sink", argv, dict(os.environ))
    wait_for(
        lambda: _listening(layout.smtp_port),
        timeout=20,
        what="the mail sink",
        log=log_file(layout.run_dir, "mail-sink"),
    )


def start_app(layout: Layout, number: int) -> None:
    """App server ``number`` (1, 2): gunicorn on config.wsgi, WEB_CONCURRENCY workers."""
    name, env = f"app{number}", app_env(layout)
    if running(layout.run_dir, name):
        return
    port = layout.app_ports[number - 1]
    argv = [str(VENV_BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    argv += ["--access-logfile", "-"]  # workers: WEB_CONCURRENCY, which gunicorn reads
    argv += ["--no-control-socket"]  # gunicorns side by side would share its default path
    spawn(layout.run_dir, name, argv, env)
    wait_for(
        lambda: answers(f"http://127.0.0.1:{port}/"),
        timeout=60,
        what=f"app server {number}",
        log=log_file(layout.run_dir, name),
    )


def start_worker(layout: Layout) -> None:
    if running(layout.run_dir, "worker"):
        return
    argv = [sys.executable, "manage.py", "db_worker", "--no-reload"]
    spawn(layout.run_dir, "worker", argv, app_env(layout))


def start_haproxy(layout: Layout) -> None:
    if running(layout.run_dir, "haproxy"):
        return
    config = layout.run_dir / "haproxy.cfg"
    config.write_text(haproxy.render(layout.run_dir, layout.port, layout.app_ports))
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    spawn(layout.run_dir, "haproxy", [binary, "-db", "-f", str(config)], dict(os.environ))
    wait_for(
        lambda: answers(layout.url + "/"),
        timeout=30,
        what="HAProxy",
        log=log_file(layout.run_dir, "haproxy"),
    )


def start_replica(layout: Layout) -> None:
    postgres.ensure_replica(layout.run_dir, layout.primary_port, layout.replica_port)


def stop_replica(layout: Layout, *, mode: str = "fast") -> None:
    postgres.stop(layout.run_dir / "replica", mode=mode)


def start(layout: Layout) -> None:
    """Start every part that is not running, in the order each needs the one before."""
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    layout.run_dir.chmod(0o755)  # PostgreSQL's user reaches its directories inside
    (layout.run_dir / "cluster.json").write_text(json.dumps(layout.describe(), indent=2) + "\n")
    postgres.ensure_primary(layout.run_dir, layout.primary_port)
    start_replica(layout)
    start_redis(layout)
    start_mail_sink(layout)
    # Once per `make cluster` after a stop (new code may bring migrations), not when only a
    # part that crashed is started again.
    if not (layout.run_dir / "migrated").exists():
        manage(layout, "migrate", "--noinput")
        manage(layout, "load_demo")
        manage(layout, "collectstatic", "--noinput", "-v0")
        (layout.run_dir / "migrated").touch()
    for number in range(1, layout.app_servers + 1):
        start_app(layout, number)
    start_worker(layout)
    start_haproxy(layout)


def stop_all(layout: Layout, *, remove: bool = False) -> None:
    """Stop HAProxy, the app servers, the worker, the mail sink, Redis and PostgreSQL (the
    replica first); with ``remove``, delete the run directory and its data."""
    for name in ("haproxy", *(f"app{n}" for n in range(1, layout.app_servers + 1))):
        stop(layout.run_dir, name)
    for name in ("worker", "mail-sink", "redis"):
        stop(layout.run_dir, name)
    postgres.stop(layout.run_dir / "replica")
    postgres.stop(layout.run_dir / "primary")
    (layout.run_dir / "migrated").unlink(missing_ok=True)
    if remove:
        shutil.rmtree(layout.run_dir, ignore_errors=True)


def status(layout: Layout) -> dict[str, bool]:
    parts = ["haproxy", *(f"app{n}" for n in range(1, layout.app_servers + 1))]
    parts += ["worker", "mail-sink", "redis"]
    found = {name: running(layout.run_dir, name) is not None for name in parts}
    for name in ("primary", "replica"):
        data = layout.run_dir / name
        found[name] = data.exists() and postgres.is_running(data)
    return found


def free_span() -> int:
    """A first port such that it and the SPAN - 1 after it are free on 127.0.0.1, below the
    range the kernel hands out to outgoing connections (which could take one meanwhile)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(200):
        base = random.randrange(10_000, max(low, 10_000 + 2 * SPAN) - SPAN)
        try:
            for port in range(base, base + SPAN):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("cluster: no span of free ports on 127.0.0.1")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
