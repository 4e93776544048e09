"""The template repo checks itself like its users' projects: skips fail CI, line endings
stay LF whatever git's core.autocrlf says, and its own CI workflow runs `make test`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run
from cookiecutter.main import cookiecutter

TESTS = Path(__file__).resolve().parent
SKIPPING = """
import pytest

def test_runs():
    assert True

def test_skips():
    pytest.skip("tool X is not installed")
"""


def _pytest(
    folder: Path, ci: str | None, *options: str, plugin: bool = True
) -> subprocess.CompletedProcess:
    """pytest on ``folder`` with ``CI`` set to ``ci`` (unset when None) and the tests' folder
    importable; ``plugin``: load tests/ci_skips.py with ``-p`` (else only what a conftest.py
    in ``folder`` loads)."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(TESTS)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "ci_skips"] if plugin else []
    return subprocess.run(
        [*command, *options, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("ci", "status"), [("true", 1), (None, 0), ("false", 0)])
def test_a_skip_fails_the_run_only_under_ci(tmp_path, ci, status):
    (tmp_path / "test_sample.py").write_text(SKIPPING, encoding="utf-8")
    result = _pytest(tmp_path, ci)
    assert result.returncode == status, result.stdout[-2000:]
    if status:
        assert "CI=true: 1 test(s) skipped" in result.stdout
        assert "tool X is not installed" in result.stdout


def test_a_skip_on_a_pytest_xdist_worker_fails_the_run_under_ci(tmp_path):
    """`make test` runs both tiers on pytest-xdist workers: their skips reach the hook too."""
    sample = (
        "import os\n\nimport pytest\n\n\ndef test_needs_a_tool():\n"
        '    pytest.skip("tool X is missing on " + os.environ["PYTEST_XDIST_WORKER"])\n'
    )
    (tmp_path / "test_sample.py").write_text(sample, encoding="utf-8")
    result = _pytest(tmp_path, "true", "-n", "2")
    assert result.returncode == 1, result.stdout[-2000:]
    # The reason names the worker that skipped (outside a worker the sample fails instead).
    assert re.search(r"CI=true: 1 test\(s\) skipped.*tool X is missing on gw[01]", result.stdout)


def test_the_tests_own_conftest_makes_a_skip_fail_under_ci(tmp_path):
    """`make test` passes no ``-p ci_skips``: tests/conftest.py loads the hook itself.

    The sample's conftest.py is a link to it (it finds the repo from its resolved path)."""
    (tmp_path / "conftest.py").symlink_to(TESTS / "conftest.py")
    (tmp_path / "test_sample.py").write_text(SKIPPING, encoding="utf-8")
    result = _pytest(tmp_path, "true", plugin=False)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "CI=true: 1 test(s) skipped" in result.stdout
    assert _pytest(tmp_path, None, plugin=False).returncode == 0


# A sample test that runs make twice in its folder and compares what make prints: a
# target that prints a word, and one that fails, whose error line starts with `make:` for
# a make started from a shell (`make[N]:` for a sub-make).
MAKE_IN_A_TEST = """
import subprocess


def make(target):
    done = subprocess.run(["make", target], capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def test_make():
    assert make("hello") == (0, "hello\\n", "")
    assert make("fail") == (2, "", "make: *** [Makefile:4: fail] Error 1\\n")
"""
SAMPLE_MAKEFILE = "hello:\n\t@echo hello\nfail:\n\t@false\n"


def test_a_make_a_test_runs_under_make_j2_prints_only_its_own_output(tmp_path):
    """``make -j2 test`` (or ``MAKEFLAGS=-j2`` in the shell) runs pytest as a job of a
    parallel make, whose variables name a jobserver the tests' processes cannot reach
    (MAKEFLAGS) and a make level (MAKELEVEL): a make a test runs would warn about the
    first and prefix its messages with the second, and tests compare what make prints.
    tests/conftest.py removes them. The sample's conftest.py is a link to it; the sample
    test (MAKE_IN_A_TEST) runs as one of the two jobs of ``make -j2``, the other a no-op,
    so the outer make runs a jobserver."""
    (tmp_path / "conftest.py").symlink_to(TESTS / "conftest.py")
    (tmp_path / "test_sample.py").write_text(MAKE_IN_A_TEST, encoding="utf-8")
    (tmp_path / "Makefile").write_text(SAMPLE_MAKEFILE, encoding="utf-8")
    pytest_job = f"{sys.executable} -m pytest -q -p no:cacheprovider test_sample.py"
    outer = tmp_path / "outer.mk"
    outer.write_text(f"both: tests other\ntests:\n\t{pytest_job}\nother:\n\t@true\n")
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    result = run(["make", "-j2", "-f", str(outer)], tmp_path, env, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 passed" in result.stdout


def test_a_run_without_skips_passes_under_ci(tmp_path):
    (tmp_path / "test_sample.py").write_text(
        "def test_runs():\n    assert True\n", encoding="utf-8"
    )
    assert _pytest(tmp_path, "true").returncode == 0


# --- line endings ---


def _git(*args: str, cwd: Path) -> str:
    command = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout


def _snapshot(destination: Path, keep_gitattributes: bool) -> Path:
    """A one-commit git repo of this working tree (committed or not), with or without its
    .gitattributes files (the template's own and the one it renders)."""
    listed = _git("ls-files", "-co", "--exclude-standard", "-z", cwd=REPO).split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file() and (keep_gitattributes or source.name != ".gitattributes"):
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    _git("init", "-q", cwd=destination)
    _git("-c", "core.autocrlf=false", "add", "-A", cwd=destination)
    _git("commit", "-q", "-m", "snapshot", cwd=destination)
    return destination


def _crlf_files(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.parts and b"\r\n" in p.read_bytes()
    )


@pytest.fixture(scope="module")
def autocrlf_checkouts(tmp_path_factory) -> dict[bool, Path]:
    """Checkouts made with core.autocrlf=true, of this tree with and without .gitattributes."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    checkouts = {}
    for keep in (True, False):
        base = tmp_path_factory.mktemp(f"eol-{keep}")
        source = _snapshot(base / "source", keep)
        _git("clone", "-q", "--config", "core.autocrlf=true", str(source), "checkout", cwd=base)
        checkouts[keep] = base / "checkout"
    return checkouts


def test_gitattributes_keep_the_checkout_lf(autocrlf_checkouts):
    assert _crlf_files(autocrlf_checkouts[True]) == []
    # the control: without .gitattributes, autocrlf=true does turn text files into CRLF
    crlf = _crlf_files(autocrlf_checkouts[False])
    assert "README.md" in crlf and "{{cookiecutter.project_slug}}/README.md" in crlf


@pytest.mark.parametrize("keep_gitattributes", [True, False])
def test_rendering_from_an_autocrlf_checkout_gives_lf_files(
    autocrlf_checkouts, keep_gitattributes, tmp_path
):
    """With .gitattributes the checkout is LF; without them, `_new_lines` still renders LF."""
    project = Path(
        cookiecutter(
            str(autocrlf_checkouts[keep_gitattributes]), no_input=True, output_dir=str(tmp_path)
        )
    )
    assert (project / ".gitattributes").is_file() == keep_gitattributes
    assert _crlf_files(project) == []


def test_the_rendered_project_declares_lf(default_project):
    lines = (default_project / ".gitattributes").read_text(encoding="utf-8").splitlines()
    assert "* text=auto eol=lf" in lines


# --- the template repo's own CI ---


def test_the_template_repo_workflow_runs_make_test_through_ci_run():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "test.yml").read_text())
    (job,) = workflow["jobs"].values()
    runs = [step.get("run", "") for step in job["steps"]]
    assert ".ci/run" in runs
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert workflow["permissions"] == {"contents": "read"}


def test_the_template_repo_workflow_passes_zizmor_and_actionlint():
    from test_cicd import _run, _tool

    workflows = [str(p) for p in (REPO / ".github" / "workflows").glob("*.yml")]
    zizmor = _tool("zizmor")
    assert zizmor, "zizmor is in requirements-dev.txt"
    result = _run(
        [zizmor, "--offline", "--min-severity", "medium", "--format", "json", *workflows], REPO
    )
    assert result.stdout.strip() in {"", "[]"} and result.returncode == 0, result.stdout[-3000:]
    actionlint = _tool("actionlint")
    if not actionlint:
        pytest.skip("actionlint not installed (make venv builds it with `go install`)")
    result = _run([actionlint, "-no-color", *workflows], REPO)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the bundle schema's refresh script ---

FAKE_CLI = """#!/usr/bin/env bash
case "$1" in
  --version) echo "Databricks CLI v9.8.7" ;;
  bundle) cat "$FAKE_SCHEMA" ;;
esac
"""


def _refresh(tmp_path: Path, printed: str) -> subprocess.CompletedProcess:
    """Run scripts/refresh_bundle_schema.sh in a copy of its inputs under ``tmp_path``, with a
    fake ``databricks`` on PATH whose ``bundle schema`` prints ``printed``."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / "scripts" / "refresh_bundle_schema.sh", repo / "scripts")
    shutil.copytree(REPO / "tests" / "data", repo / "tests" / "data")
    shutil.copy2(REPO / "cookiecutter.json", repo)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "databricks").write_text(FAKE_CLI, encoding="utf-8")
    (bin_dir / "databricks").chmod(0o755)
    (tmp_path / "printed").write_text(printed, encoding="utf-8")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env["FAKE_SCHEMA"] = str(tmp_path / "printed")
    return run(["bash", str(repo / "scripts" / "refresh_bundle_schema.sh")], tmp_path, env)


def test_the_schema_refresh_keeps_what_the_cli_printed_and_notes_its_version_and_date(tmp_path):
    done = _refresh(tmp_path, '{"type": "object"}\n')
    assert done.returncode == 0, done.stderr
    data = tmp_path / "repo" / "tests" / "data"
    assert (data / "databricks-bundle.schema.json").read_text() == '{"type": "object"}\n'
    note = (data / "databricks-bundle.schema.md").read_text()
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert f"Databricks CLI 9.8.7 on {today}." in " ".join(note.split())
    assert "differs from __databricks_cli_version" in done.stderr  # 9.8.7 is not the pin


def test_the_schema_refresh_refuses_output_that_is_not_json(tmp_path):
    kept = (REPO / "tests" / "data" / "databricks-bundle.schema.json").read_text()
    done = _refresh(tmp_path, "Error: not logged in\n")
    assert done.returncode != 0
    assert done.stderr.splitlines()[-1] == (
        "databricks bundle schema printed no JSON: kept tests/data/databricks-bundle.schema.json "
        "as it was"
    )
    data = tmp_path / "repo" / "tests" / "data"
    assert sorted(p.name for p in data.iterdir()) == [
        "databricks-bundle.schema.json",
        "databricks-bundle.schema.md",
    ]  # no .tmp file left
    assert (data / "databricks-bundle.schema.json").read_text() == kept
    assert (data / "databricks-bundle.schema.md").read_text() == (
        REPO / "tests" / "data" / "databricks-bundle.schema.md"
    ).read_text()
