"""The rendered .gitlab-ci.yml, run for real: its `lint` and `unit_tests` jobs with
gitlab-ci-local in shell-executor mode, inside a throwaway virtual environment.

gitlab-ci-local (with Node 22) comes from `make gitlab-ci-local`, which the fixture runs when
build/ lacks it; it also needs rsync (.ci/run installs npm and rsync when missing). The jobs
run their scripts unchanged. Only cache locations are passed in: the host's pip cache (warm),
pre-commit and ``$IVY_CACHE`` folders inside the test's tmp folder, and a pip constraints
file pinning this environment's versions, so the fresh venv installs what the Spark tier
already tested.

A shell-executor job runs in the host's home folder. The rendered jobs link the Ivy home
(``~/.ivy2.5.2``) to ``$IVY_CACHE`` when it is absent; here that would point the Ivy home
of every later Spark start on this host into pytest's tmp folder, and leave it dangling
once pytest deletes old tmp folders. So the test first creates the host's Ivy home when
it is missing: the jobs' link step leaves it alone and their Spark uses the host's Ivy
cache (Java reads the home folder from the user database, not ``$HOME``, so a job cannot
be given a home of its own).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from conftest import DEFAULT_ANSWERS, REPO, ivy_dir, render

pytestmark = pytest.mark.spark

TOOLS = REPO / "build" / "gitlab-ci-local" / "node_modules" / ".bin"


def _git(project, *args):
    command = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args]
    subprocess.run(command, cwd=project, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def gitlab_ci_local():
    """The bin folder holding gitlab-ci-local and Node 22 (installed under build/ if absent)."""
    if not (TOOLS / "gitlab-ci-local").exists():
        subprocess.run(["make", "-C", str(REPO), "gitlab-ci-local"], check=True, timeout=900)
    return TOOLS


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """(project, tmp root): a GitLab project rendered, committed to a fresh git repo, and a
    fresh venv (root/venv) with no package of this environment in it."""
    root = tmp_path_factory.mktemp("gitlab-ci-local")
    project = render(root / "out", cicd_platform="gitlab")
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "rendered")
    subprocess.run([sys.executable, "-m", "venv", root / "venv"], check=True, timeout=300)
    pins = sorted({f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()})
    (root / "constraints.txt").write_text("\n".join(pins) + "\n", encoding="utf-8")
    return project, root


def _run_job(job, workspace, tools):
    project, root = workspace
    pip_cache = subprocess.run(
        [sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["PATH"] = os.pathsep.join([str(root / "venv" / "bin"), str(tools), env["PATH"]])
    variables = {
        "PIP_CACHE_DIR": pip_cache,
        "PIP_CONSTRAINT": root / "constraints.txt",
        "PRE_COMMIT_HOME": root / "pre-commit",
        "IVY_CACHE": root / "ivy",
    }
    ivy_home = Path.home() / ivy_dir(project)
    if ivy_home.is_symlink() and not ivy_home.exists():  # left dangling by an older version
        ivy_home.unlink()
    ivy_home.mkdir(exist_ok=True)
    command = [str(tools / "gitlab-ci-local"), "--force-shell-executor"]
    for name, value in variables.items():
        command += ["--variable", f"{name}={value}"]
    result = subprocess.run(
        [*command, job], cwd=project, env=env, capture_output=True, text=True, timeout=2400
    )
    log = project / ".gitlab-ci-local" / "output" / f"{job}.log"
    output = log.read_text(encoding="utf-8") if log.exists() else result.stdout
    assert result.returncode == 0, f"{job}:\n{result.stdout[-5000:]}\n{result.stderr[-2000:]}"
    assert re.search(rf"PASS\s+{job}\b", result.stdout), result.stdout[-3000:]
    return output


def test_gitlab_lint_job_passes(workspace, gitlab_ci_local):
    output = _run_job("lint", workspace, gitlab_ci_local)
    assert re.search(r"ruff check\.+Passed", output), output[-3000:]
    assert re.search(r"ruff format\.+Passed", output), output[-3000:]


def test_gitlab_unit_test_job_runs_the_unit_tier(workspace, gitlab_ci_local):
    output = _run_job("unit_tests", workspace, gitlab_ci_local)
    summary = [line for line in output.splitlines() if re.search(r"\d+ passed", line)][-1]
    assert "failed" not in summary and "error" not in summary, summary
    assert int(re.search(r"(\d+) passed", summary).group(1)) >= 30, summary
    assert re.search(r"\d+ deselected", summary), "the integration tests were not left out"


CHECKS = ["lint", "unit_tests", "integration", "bundle_validate"]
DEFAULT, RELEASE = DEFAULT_ANSWERS["default_branch"], DEFAULT_ANSWERS["release_branch"]


@pytest.mark.parametrize(
    ("source", "branch", "expected"),
    [
        ("merge_request_event", DEFAULT, CHECKS),
        ("push", DEFAULT, [*CHECKS, "test_target", "deploy_staging"]),
        ("push", RELEASE, [*CHECKS, "test_target", "deploy_prod"]),
    ],
    ids=["merge-request", "push-default", "push-release"],
)
def test_gitlab_evaluates_its_rules_per_event(workspace, gitlab_ci_local, source, branch, expected):
    """gitlab-ci-local's own rule evaluation lists the jobs each event starts, in order."""
    project, _ = workspace
    variables = {"CI_PIPELINE_SOURCE": source, "CI_COMMIT_BRANCH": branch}
    command = [str(gitlab_ci_local / "gitlab-ci-local"), "--list"]
    command += ["--ignore-predefined-vars", ",".join(variables)]
    for name, value in variables.items():
        command += ["--variable", f"{name}={value}"]
    env = {**os.environ, "PATH": os.pathsep.join([str(gitlab_ci_local), os.environ["PATH"]])}
    result = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    table = result.stdout[result.stdout.index("name ") :].splitlines()[1:]
    assert [line.split()[0] for line in table if line.strip()] == expected
