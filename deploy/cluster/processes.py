"""Processes of the cluster: each started in a session of its own, its pid and log in the run
directory (``<name>.pid``, ``<name>.log``), found again from the pid file by any process.

A process is alive while its pid exists and is not a zombie; a zombie this process is the
parent of is reaped on the way.
"""

import os
import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository, where manage.py is


def pid_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.pid"


def log_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.log"


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        with suppress(ChildProcessError):  # another process's child: init reaps it
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def running(run_dir: Path, name: str) -> int | None:
    """The pid of the process ``name`` if it runs, else None."""
    try:
        pid = int(pid_file(run_dir, name).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if is_alive(pid) else None


def spawn(run_dir: Path, name: str, argv: list[str], env: dict[str, str]) -> int:
    """Start ``argv`` in a new session (so it outlives this process and a signal to its group
    reaches its children), output appended to its log; returns its pid."""
    with open(log_file(run_dir, name), "ab") as log:
        process = subprocess.Popen(  # noqa: S603 (fixed commands of this module)
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file(run_dir, name).write_text(f"{process.pid}\n")
    return process.pid


def signal_group(pid: int, signum: int) -> None:
    """Send ``signum`` to the process group ``pid`` leads (a gunicorn master and its workers)."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def stop(run_dir: Path, name: str, *, grace: float = 15, signum=signal.SIGTERM) -> bool:
    """Stop the process ``name`` and its group: ``signum``, then SIGKILL after ``grace``
    seconds. Returns whether it was running."""
    pid = running(run_dir, name)
    if pid is None:
        return False
    signal_group(pid, signum)
    deadline = time.monotonic() + grace
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    signal_group(pid, signal.SIGKILL)
    while is_alive(pid):
        time.sleep(0.05)
    return True


def kill(run_dir: Path, name: str) -> int | None:
    """SIGKILL the process ``name`` and its group at once, as a crash would; returns its pid."""
    pid = running(run_dir, name)
    if pid is not None:
        signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
    return pid


def wait_for(condition, *, timeout: float, what: str, log: Path | None = None) -> None:
    """Poll ``condition()`` until it is true; after ``timeout`` seconds raise, with the end
    of ``log`` when given."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"cluster: {what} did not happen within {timeout:.0f} s\n{tail}")
        time.sleep(0.1)
