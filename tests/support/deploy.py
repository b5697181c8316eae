"""``manage.py`` as a production host runs it: in a subprocess, with production settings.

``production_env(**changes)`` is this process's environment without any development or
deployment setting (DEBUG, SECRET_KEY, hosts, HTTPS, cookies, mail, proxies), plus a
strong SECRET_KEY, a host and SMTP mail; a change of ``None`` removes a variable. Its
database is an empty SQLite file unless the test names one: the deploy checks that read
stored comments (config/checks.py) must not see a developer's own database.
"""

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNSET_PREFIXES = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_", "SESSION_", "CSRF_")
UNSET_PREFIXES += ("EMAIL_", "DJANGO_", "TRUSTED_PROXY_COUNT")


def production_env(**changes) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(UNSET_PREFIXES)}
    env |= {
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "example.org",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "DATABASE_URL": f"sqlite:///{Path(tempfile.gettempdir()) / 'threadline-deploy.sqlite3'}",
    }
    env |= changes
    return {k: v for k, v in env.items() if v is not None}


def run(*args, env) -> subprocess.CompletedProcess:
    """This interpreter with ``args`` in the repository, bounded to two minutes."""
    return subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def manage(*args, env) -> subprocess.CompletedProcess:
    return run("manage.py", *args, env=env)
