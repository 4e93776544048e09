"""A render can be reproduced from its replay file, and passes its own pre-commit hooks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, render
from cookiecutter.main import cookiecutter


def tree(root: Path) -> dict[str, bytes]:
    """{relative path: bytes} of every file under ``root``."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


def test_replay_reproduces_the_render_byte_for_byte(tmp_path):
    first = render(tmp_path / "first", project_name="Churn Model", include_monitoring=False)
    replayed = Path(cookiecutter(str(REPO), replay=True, output_dir=str(tmp_path / "replayed")))
    assert replayed.name == first.name == "churn-model"
    assert tree(replayed) == tree(first)
    assert not (replayed / "src/churn_model/steps/monitor.py").exists()


def git(project: Path, *args: str) -> str:
    """Run git in ``project``; returns stdout, raises on failure."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    result = subprocess.run(
        ["git", *args], cwd=project, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_fresh_project_passes_its_own_pre_commit_hooks(tmp_path):
    """First run installs the hook environments from PyPI (~15 s), later runs reuse them."""
    project = render(tmp_path)
    git(project, "init", "-q")
    git(project, "add", "-A")
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout and "Failed" not in result.stdout
    assert git(project, "diff", "--name-only") == ""  # no hook modified a file
    status = git(project, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert status and all(line.startswith("A  ") for line in status)  # and none was added
