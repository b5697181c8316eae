"""What a production host installs is what runs the site, and nothing more.

`make serve` (and `make run`) install requirements.lock only; the test and lint tools are in
requirements-dev.lock, which `make test` and `make lint` add on top. Both locks pin every
package to one version, and the runtime lock holds every direct dependency of pyproject.toml.
"""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_ONLY = {"pytest", "pytest-django", "playwright", "ruff", "greenlet", "pluggy", "iniconfig"}
DEV_ONLY |= {"aiosmtpd", "atpublic", "attrs"}  # the SMTP server the mail tests run


def pinned(lock: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / lock).read_text().splitlines():
        if line.strip() and not line.startswith(("#", "-r ")):
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def make_dry_run(target: str, tmp_path) -> str:
    """The commands ``make TARGET`` would run to set up a venv from nothing."""
    venv = tmp_path / "venv"
    make = shutil.which("make")
    assert make, "make is needed (it is how README says to run everything)"
    result = subprocess.run(  # noqa: S603 (fixed arguments)
        [make, "-n", target, f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_runtime_lock_has_no_test_or_lint_tools():
    assert DEV_ONLY & set(pinned("requirements.lock")) == set()


def test_runtime_lock_pins_every_direct_dependency_at_its_pinned_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = pinned("requirements.lock")
    for requirement in project["dependencies"]:
        name, version = re.split("==", requirement)
        assert runtime.get(name.lower()) == version, requirement


def test_dev_lock_builds_on_the_runtime_lock_and_adds_the_tools():
    text = (ROOT / "requirements-dev.lock").read_text()
    assert "-r requirements.lock" in text.splitlines()
    assert {"pytest", "pytest-django", "playwright", "ruff"} <= set(pinned("requirements-dev.lock"))


def test_make_serve_and_make_run_install_only_the_runtime_lock(tmp_path):
    for target in ("serve", "run"):
        commands = make_dry_run(target, tmp_path)
        assert "-r requirements.lock" in commands
        assert "requirements-dev.lock" not in commands


def test_make_test_installs_the_tools_too(tmp_path):
    commands = make_dry_run("test", tmp_path)
    assert "-r requirements.lock" in commands
    assert "-r requirements-dev.lock" in commands
