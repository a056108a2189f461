"""Supply chain (README "Supply chain", docs/THREAT-MODEL.md): every dependency installed from a hashed lock with
--require-hashes, the lock covers pyproject.toml, the audit reads PyPI's vulnerability data and refuses to pass
silently when it cannot, and set-up warns about a Python runtime older than the newest 3.12 security release."""

from __future__ import annotations

import functools
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from scripts import pypi_audit, python_version

ROOT = Path(__file__).resolve().parents[1]
REQ = ROOT / "requirements"
FIXTURE = Path(__file__).parent / "fixtures" / "pypi_json" / "ecdsa.json"  # PyPI's answer for ecdsa, trimmed
HASHED = ["lock.txt", "model.txt", "train.txt", "tools.txt"]


def _blocks(text: str) -> list[str]:
    """The requirement entries of a requirements file, each with its continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    return [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", "-"))]


def _pins(text: str) -> dict[str, str]:
    return {pypi_audit.normalize(n): v for n, v in pypi_audit.parse_lock(text)}


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


@pytest.mark.parametrize("name", HASHED)
def test_every_locked_requirement_carries_a_sha256_hash(name: str) -> None:
    blocks = _blocks((REQ / name).read_text())
    assert blocks, f"{name} pins nothing"
    for block in blocks:
        assert re.match(r"^[A-Za-z0-9._-]+(\[[^\]]*\])?==\S+", block), f"{name}: not an exact pin: {block[:80]}"
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), f"{name}: no hash for {block.split()[0]}"


def test_every_dependency_of_pyproject_is_pinned_in_the_lock_at_the_same_version() -> None:
    project = _pyproject()
    lock = _pins((REQ / "lock.txt").read_text())
    train = _pins((REQ / "train.txt").read_text())
    proj = project["project"]
    assert isinstance(proj, dict)
    wanted = [(d, lock) for d in proj["dependencies"]] + [(d, lock) for d in proj["optional-dependencies"]["dev"]]
    wanted += [(d, train) for d in proj["optional-dependencies"]["train"]]
    for spec, pins in wanted:
        m = re.match(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)$", spec)
        assert m, f"pyproject.toml: {spec} is not pinned exactly"
        name = pypi_audit.normalize(m.group(1))
        assert pins.get(name) == m.group(2), f"{spec}: locked as {pins.get(name)}"
    # The build backend: set-up builds the project with --no-build-isolation, from the locked setuptools.
    build = project["build-system"]
    assert isinstance(build, dict)
    for spec in build["requires"]:
        req = Requirement(spec)
        version = lock.get(pypi_audit.normalize(req.name))
        assert version, f"build requirement {req.name} is not in the lock"
        assert req.specifier.contains(version), f"{spec}: locked as {version}"


def test_the_train_lock_agrees_with_the_main_lock_where_they_overlap() -> None:
    lock = _pins((REQ / "lock.txt").read_text())
    for name, version in _pins((REQ / "train.txt").read_text()).items():
        assert lock.get(name, version) == version, f"{name}: train.txt {version}, lock.txt {lock[name]}"


def test_setup_installs_every_package_with_require_hashes_and_resolves_nothing() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    installs = [
        ln.strip() for ln in setup.splitlines() if re.search(r"pip install", ln) and not ln.lstrip().startswith("#")
    ]
    assert any("-r requirements/lock.txt" in ln for ln in installs)
    for line in installs:
        assert "--no-deps" in line, line
        if "-r requirements/" in line:
            assert "--require-hashes" in line, line
        else:  # the project itself, built with the locked setuptools
            assert line.endswith("--no-build-isolation -e ."), line
    assert "-c requirements/lock.txt" not in setup
    assert "pip check" in setup
    model = (ROOT / "Makefile").read_text().split("\nmodel:", 1)[1].split("\n\n", 1)[0]
    assert "--require-hashes" in model and "requirements/train.txt" in model


def test_setup_keeps_the_audit_tools_out_of_the_project_venv() -> None:
    tools = (ROOT / "scripts" / "tools-venv.sh").read_text()
    assert "--require-hashes" in tools and ".venv-tools" in tools
    assert ".venv-tools" in (ROOT / ".gitignore").read_text()
    assert "pip-audit" not in (ROOT / "pyproject.toml").read_text()


def test_python_warning_fires_for_a_runtime_older_than_the_newest_security_release() -> None:
    newest = python_version.newest_security_release()
    major, minor, micro = python_version.parse_version(newest)
    assert (major, minor) == (3, 12)
    older = f"3.12.{micro - 1}"
    warning = python_version.runtime_warning(older, newest)
    assert warning and older in warning and newest in warning
    assert python_version.runtime_warning(newest, newest) is None
    assert python_version.runtime_warning(f"3.12.{micro + 1}", newest) is None
    assert python_version.runtime_warning("3.11.9", newest)  # another series is never silently accepted


def test_python_version_script_warns_on_stderr_and_fails_only_when_strict() -> None:
    script = [sys.executable, str(ROOT / "scripts" / "python_version.py"), "--runtime", "3.12.0"]
    soft = subprocess.run(script, capture_output=True, text=True, timeout=30)
    assert soft.returncode == 0 and "WARNING: Python 3.12.0 is older than" in soft.stderr
    strict = subprocess.run([*script, "--strict"], capture_output=True, text=True, timeout=30)
    assert strict.returncode == 1


def test_pypi_audit_parses_pypis_vulnerabilities_field() -> None:
    import json

    vulns = pypi_audit.parse_vulnerabilities(json.loads(FIXTURE.read_text()))
    ids = {v.id for v in vulns}
    assert {"PYSEC-2026-1325", "GHSA-wj6h-64fc-37mp"} <= ids
    assert all("CVE-2024-23342" in v.aliases for v in vulns)
    assert all(v.fixed_in == () for v in vulns)
    result = pypi_audit.Result("ecdsa", "0.19.2", True, vulnerabilities=vulns)
    assert len(pypi_audit.findings([result], {})) == len(vulns)
    # An accepted finding is matched by any of its names.
    assert pypi_audit.findings([result], {"CVE-2024-23342": "timing side channel; we sign nothing with ecdsa"}) == []


def test_pypi_audit_drops_withdrawn_advisories_and_refuses_an_answer_without_the_field() -> None:
    withdrawn = {"vulnerabilities": [{"id": "PYSEC-0", "aliases": [], "withdrawn": "2026-01-01T00:00:00"}]}
    assert pypi_audit.parse_vulnerabilities(withdrawn) == []
    with pytest.raises(ValueError):
        pypi_audit.parse_vulnerabilities({"info": {}})


def test_an_accepted_finding_needs_a_reason() -> None:
    assert pypi_audit.parse_ignore("# comment\nGHSA-x  not reachable from our code\n") == {
        "GHSA-x": "not reachable from our code"
    }
    with pytest.raises(ValueError, match="no reason"):
        pypi_audit.parse_ignore("GHSA-x\n")
    pypi_audit.parse_ignore((REQ / "audit-ignore.txt").read_text())  # the real file parses


def test_pypi_audit_reads_lock_files_with_hashes() -> None:
    text = "# c\nfoo==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\nBar_Baz[x]==2.0 ; python_version >= '3'\n"
    assert pypi_audit.parse_lock(text) == [("foo", "1.0"), ("Bar_Baz", "2.0")]
    assert len(pypi_audit.parse_lock((REQ / "lock.txt").read_text())) == len(_blocks((REQ / "lock.txt").read_text()))


@pytest.fixture
def index(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A PyPI-shaped JSON API on loopback serving files from a folder: /pypi/<name>/json, /pypi/<name>/<v>/json."""
    root = tmp_path / "index"
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pypi", root / "pypi"
    server.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _run_audit(tmp_path: Path, index_url: str, lock: str, ignore: str = "", **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "lock.txt").write_text(lock)
    (tmp_path / "ignore.txt").write_text(ignore)
    cmd = [sys.executable, str(ROOT / "scripts" / "pypi_audit.py"), str(tmp_path / "lock.txt")]
    cmd += ["--ignore", str(tmp_path / "ignore.txt"), "--index", index_url, "--timeout", "5"]
    environ = {k: v for k, v in os.environ.items() if k != "AUDIT_REQUIRED"} | env
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=environ)


def test_pypi_audit_fails_on_a_vulnerable_pin_unless_the_finding_is_accepted(
    tmp_path: Path, index: tuple[str, Path]
) -> None:
    url, pypi = index
    (pypi / "ecdsa").mkdir(parents=True)
    shutil.copy(FIXTURE, pypi / "ecdsa" / "json")  # the project answer; the pin is its latest release
    lock = "ecdsa==0.19.2 \\\n    --hash=sha256:" + "1" * 64 + "\n"
    found = _run_audit(tmp_path, url, lock)
    assert found.returncode == 1, found.stderr
    assert "VULNERABLE ecdsa==0.19.2: PYSEC-2026-1325" in found.stdout
    accepted = _run_audit(tmp_path, url, lock, ignore="CVE-2024-23342 timing side channel, no fix released\n")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "1 pins, 1 checked, 0 unchecked, 0 vulnerabilities" in accepted.stdout


def test_pypi_audit_uses_the_release_answer_and_names_a_pin_it_could_not_check(
    tmp_path: Path, index: tuple[str, Path]
) -> None:
    url, pypi = index
    (pypi / "ecdsa" / "0.19.1").mkdir(parents=True)
    (pypi / "ecdsa" / "0.19.1" / "json").write_text('{"info": {"version": "0.19.1"}, "vulnerabilities": []}')
    shutil.copy(FIXTURE, pypi / "ecdsa" / "json")  # latest is 0.19.2: says nothing about 0.18.0
    result = _run_audit(tmp_path, url, "ecdsa==0.19.1\necdsa==0.18.0\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 pins, 1 checked, 1 unchecked, 0 vulnerabilities" in result.stdout
    assert "UNCHECKED ecdsa==0.18.0: per-release data not served; the latest release is 0.19.2" in result.stderr
    required = _run_audit(tmp_path, url, "ecdsa==0.18.0\n", AUDIT_REQUIRED="1")
    assert required.returncode == 1


def test_pypi_audit_fails_under_audit_required_when_the_data_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/pypi"
    warned = _run_audit(tmp_path, url, "ecdsa==0.19.2\n")
    assert warned.returncode == 0
    assert (
        "UNCHECKED ecdsa==0.19.2: unreachable" in warned.stderr
        and "WARNING: 1 pins could not be checked" in warned.stderr
    )
    required = _run_audit(tmp_path, url, "ecdsa==0.19.2\n", AUDIT_REQUIRED="1")
    assert required.returncode == 1
    assert "AUDIT_REQUIRED=1 and 1 pins could not be checked" in required.stderr
