"""The cluster of ``make cluster``, for tests that break parts of it.

``cluster`` is a module-scoped fixture: it starts the whole topology once, through the same
script as ``make cluster`` (``python -m deploy.cluster start``), in a run directory and on
ports of its own, and stops and deletes it when the module is done. Import it as::

    from tests.support.cluster import cluster_fixture  # noqa: F401 (``cluster``)

It yields a ``Cluster``: the URLs of HAProxy and of each app server, the DSNs of the
primary and the replica, the demo article, SQL on either server, and the faults (kill and
start an app server or the worker, stop and start the replica, restart Redis, pause the
mail sink) and the mail delivered so far. Without PostgreSQL's server programs, HAProxy or
Redis, the tests fail under THREADLINE_REQUIRE_ALL (CI) and skip elsewhere.
"""

import email
import email.policy
import mailbox
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import reverse

from deploy.cluster import haproxy, postgres, topology
from deploy.cluster.processes import kill, running

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DemoArticle:
    """What ``tests.support.http.Reader`` needs of an article: its slug and URL."""

    slug: str

    def get_absolute_url(self) -> str:
        return reverse("article_detail", kwargs={"slug": self.slug})


class Cluster:
    def __init__(self, layout: topology.Layout):
        self.layout = layout
        self.url = layout.url
        self.app_urls = layout.app_urls
        self.primary_url = layout.primary_url
        self.replica_url = layout.replica_url

    # Reading the state.
    def sql(self, query: str, params=(), *, on: str = "primary") -> list[tuple]:
        """Rows of ``query`` on the cluster's database, on the primary or the replica."""
        port = self.layout.primary_port if on == "primary" else self.layout.replica_port
        return postgres.query(port, query, params, database=postgres.DATABASE)

    def article(self) -> DemoArticle:
        [(slug,)] = self.sql("SELECT slug FROM articles_article ORDER BY id LIMIT 1")
        return DemoArticle(slug)

    def server_states(self) -> dict[str, str]:
        """Each app server's state as HAProxy sees it: {"app1": "UP", "app2": "DOWN", ...}."""
        return haproxy.server_states(self.layout.run_dir)

    def wait_for_state(self, server: str, state: str, *, timeout: float = 15) -> bool:
        deadline = time.monotonic() + timeout
        while self.server_states().get(server) != state:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def replayed(self) -> None:
        """Wait until the replica has replayed what the primary has written so far."""
        postgres.replayed(self.layout.primary_port, self.layout.replica_port)

    # Faults, and the way back.
    def kill_app(self, number: int) -> None:
        """SIGKILL app server ``number`` (1 or 2), master and workers, as a crash would."""
        assert kill(self.layout.run_dir, f"app{number}") is not None

    def start_app(self, number: int) -> None:
        topology.start_app(self.layout, number)

    def stop_replica(self) -> None:
        topology.stop_replica(self.layout, mode="immediate")

    def start_replica(self, *, streaming: bool = True) -> None:
        """Start the replica; wait until it streams, or (``streaming=False``, for a replica
        held back by ``recovery_min_apply_delay``, which streams only once it has replayed
        what it had) until it takes connections."""
        if streaming:
            topology.start_replica(self.layout)
        else:
            run_dir = self.layout.run_dir
            postgres.start(run_dir / "replica", self.layout.replica_port, run_dir / "replica.log")

    def restart_redis(self) -> None:
        """Redis killed and started again, empty (it keeps nothing on disk)."""
        assert kill(self.layout.run_dir, "redis") is not None
        topology.start_redis(self.layout)

    def kill_worker(self) -> None:
        assert kill(self.layout.run_dir, "worker") is not None

    def start_worker(self) -> None:
        topology.start_worker(self.layout)

    def worker_running(self) -> bool:
        return running(self.layout.run_dir, "worker") is not None

    def pause_mail(self) -> None:
        """Freeze the mail sink (SIGSTOP): connections are accepted by the kernel and never
        answered, so a worker sending mail waits mid-conversation, before any "250"."""
        os.kill(running(self.layout.run_dir, "mail-sink"), signal.SIGSTOP)

    def resume_mail(self) -> None:
        os.kill(running(self.layout.run_dir, "mail-sink"), signal.SIGCONT)

    def delivered_mail(self) -> list[email.message.EmailMessage]:
        """Every message the mail sink accepted, parsed."""
        box = mailbox.Maildir(self.layout.mail_dir, create=False)
        return [
            email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
            for key in box.iterkeys()
        ]

    def manage(self, *args: str, **settings: str) -> subprocess.CompletedProcess:
        """``manage.py`` with the cluster's settings (those of its app servers), changed by
        ``settings``."""
        return subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**topology.app_env(self.layout), **settings},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def missing_programs() -> list[str]:
    needed = {"haproxy": "haproxy", "redis-server": "redis-server"}
    missing = [package for name, package in needed.items() if not shutil.which(name)]
    try:
        postgres.bin_dir()
    except RuntimeError:
        missing.append("postgresql")
    return missing


@pytest.fixture(scope="module", name="cluster")
def cluster_fixture():
    """The whole cluster, started once for the module through ``make cluster``'s script."""
    missing = missing_programs()
    if missing:
        message = f"the cluster needs Debian's {', '.join(missing)} (.ci/run installs them)"
        if os.environ.get("THREADLINE_REQUIRE_ALL"):
            pytest.fail(message)
        pytest.skip(message)
    layout = topology.Layout.fresh("threadline-cluster-test-")
    env = {**os.environ, "CLUSTER_DIR": str(layout.run_dir), "CLUSTER_PORT": str(layout.port)}
    try:
        started = subprocess.run(  # noqa: S603 (our own interpreter and script)
            [sys.executable, "-m", "deploy.cluster", "start"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert started.returncode == 0, started.stdout + started.stderr
        assert layout.url in started.stdout  # it names HAProxy's URL
        yield Cluster(layout)
    finally:
        topology.stop_all(layout, remove=True)
