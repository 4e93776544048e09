"""The template repo's own commands do what the README says: ``make test``, ``make demo`` and
``make docs`` (read with ``make -n``, which prints a target's commands without running them),
and ``.ci/run`` (run with fake ``apt-get``, ``sudo``, ``id`` and ``make`` that log their
arguments)."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

import pytest
from conftest import REPO, run

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("bash") is None, reason="needs make and bash"
)
# What the README says the two tiers run (its "Two commands" section).
FAST_TIER = {"-m": "not spark", "-n": "auto"}
SPARK_TIER = {"-m": "spark", "-n": "2", "--dist": "loadgroup"}
# A fake command's line: appends "<its folder>\t<its name>\t<arg>\t<arg>..." to $FAKE_LOG.
LOG_CALL = (
    "{ printf '%s\\t%s' \"$PWD\" \"${0##*/}\"; printf '\\t%s' \"$@\"; printf '\\n'; }"
    ' >> "$FAKE_LOG"'
)
UPDATE = ["apt-get", "update", "-qq"]
INSTALL = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]


def make_plan(*args: str, cwd: Path = REPO, env: dict | None = None) -> list[str]:
    """The commands ``make -n <args>`` prints in ``cwd`` with the environment ``env``
    (default: this process's), as a list of lines, a recipe line continued with a
    backslash joined into one. Fails the test when make exits non-zero."""
    # tests/conftest.py has removed the variables of a make these tests may run under.
    done = run(["make", "-n", "--no-print-directory", *args], cwd, env)
    assert done.returncode == 0, done.stderr
    return done.stdout.replace("\\\n", " ").splitlines()


def option(command: list[str], name: str) -> str:
    """The value after option ``name`` in ``command`` (split as the shell does)."""
    assert name in command, f"{name} not in {command}"
    return command[command.index(name) + 1]


def script(path: Path, body: str) -> Path:
    """An executable bash script at ``path`` running ``body``; returns ``path``."""
    path.write_text(f"#!{shutil.which('bash')}\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def fake_bin(folder: Path, *names: str) -> Path:
    """``folder`` holding a fake command per name that logs its arguments (LOG_CALL), plus
    links to bash and dirname; returns it, to be the whole PATH of a run."""
    folder.mkdir()
    for tool in ("bash", "dirname"):
        (folder / tool).symlink_to(shutil.which(tool))
    for name in names:
        script(folder / name, LOG_CALL)
    return folder


def logged(log: Path) -> list[list[str]]:
    """The calls LOG_CALL wrote to ``log``, each as [folder, command name, arguments...]."""
    if not log.exists():
        return []
    return [line.split("\t") for line in log.read_text(encoding="utf-8").splitlines()]


def test_make_test_builds_the_venv_and_gitlab_ci_local_then_runs_the_fast_tier_then_spark():
    """``make test`` creates ``.venv`` from requirements-dev.txt and installs Node 22 with
    gitlab-ci-local 4.75.1 under build/, then runs ``pytest -m "not spark"`` on one worker
    per CPU (``-n auto``), then ``pytest -m spark`` on two workers grouped as
    tests/spark_workers.py says (``--dist loadgroup``) ending with each test's seconds
    (``--durations=0``); both tiers list their skips (``-rs``). ``-B``: every target
    counts as out of date, so the plan is the same on a fresh clone and a built one."""
    plan = make_plan("-B", "test")
    steps = [
        "python3 -m venv .venv",
        ".venv/bin/pip install --quiet -r requirements-dev.txt",
        "npm install ",
        ".venv/bin/pytest ",
    ]
    order = [next((i for i, line in enumerate(plan) if line.startswith(s)), None) for s in steps]
    assert None not in order and order == sorted(order), (steps, plan)
    (npm,) = (shlex.split(line) for line in plan if line.startswith("npm install "))
    assert option(npm, "--prefix") == "build/gitlab-ci-local"
    assert {"node@22", "gitlab-ci-local@4.75.1"} <= set(npm)
    fast, spark = (shlex.split(line) for line in plan if line.startswith(".venv/bin/pytest "))
    for command, options in ((fast, FAST_TIER), (spark, SPARK_TIER)):
        assert {name: option(command, name) for name in options} == options
        assert "-rs" in command and "tests" in command
    assert "--durations=0" in spark


def test_make_docs_runs_the_options_table_script():
    """``make docs`` rewrites the README options table with scripts/options_doc.py in the
    venv (``-o``: the venv counts as built, so only the target's own command is printed)."""
    assert make_plan("-o", ".venv/bin/.installed", "docs") == [
        ".venv/bin/python scripts/options_doc.py"
    ]


def test_make_demo_renders_the_defaults_into_build_demo_and_runs_its_pipeline(
    tmp_path, default_project
):
    """``make demo`` installs cookiecutter (the version requirements-dev.txt pins) into
    build/tools, renders the default answers (``--no-input``) of this repo into build/demo,
    then runs the demo project's ``install`` and ``pipeline`` targets with
    ``VENV=build/demo-venv``: in the rendered Makefile, a venv there and ``run-all``. The
    sub-makes run a fake make (``MAKE=``) that logs them; their commands are then read from
    the default project's Makefile with the same arguments."""
    log = tmp_path / "make.log"
    fake = fake_bin(tmp_path / "bin", "make") / "make"
    plan = make_plan("-B", "demo", f"MAKE={fake}", env={**os.environ, "FAKE_LOG": str(log)})
    requirements = (REPO / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    (pin,) = (line for line in requirements if line.startswith("cookiecutter=="))
    assert plan[:5] == [
        "python3 -m venv build/tools",
        f"build/tools/bin/pip install --quiet {pin}",
        "rm -rf build/demo build/.render",
        "build/tools/bin/cookiecutter --no-input --output-dir build/.render .",
        "mv build/.render/* build/demo && rm -rf build/.render",
    ]
    venv = REPO / "build" / "demo-venv"
    calls = logged(log)
    assert calls == [
        [str(REPO), "make", "-C", "build/demo", "install", f"VENV={venv}", "PYTHON=python3"],
        [str(REPO), "make", "-C", "build/demo", "pipeline", f"VENV={venv}"],
    ]
    install, pipeline = (make_plan("-B", *call[4:], cwd=default_project) for call in calls)
    assert install == [
        f"python3 -m venv {venv}",
        f"{venv}/bin/pip install --quiet --upgrade pip",
        f"{venv}/bin/pip install --quiet -e '.[local,dev]'",
    ]
    assert pipeline == [f"{venv}/bin/run-all --env local --summary summary.json"]


@pytest.mark.parametrize(
    ("uid", "present", "apt"),
    [
        pytest.param(
            "1000",
            [],
            [
                ["sudo", *UPDATE],
                UPDATE,
                ["sudo", *INSTALL, "npm", "rsync"],
                [*INSTALL, "npm", "rsync"],
            ],
            id="user-without-npm-and-rsync",
        ),
        pytest.param("0", ["rsync"], [UPDATE, [*INSTALL, "npm"]], id="root-without-npm"),
        pytest.param("1000", ["npm", "rsync"], [], id="both-present"),
    ],
)
def test_ci_run_installs_npm_and_rsync_when_missing_then_runs_make(tmp_path, uid, present, apt):
    """``.ci/run`` (from any folder: it runs in the repo root) installs the missing ones of
    npm and rsync with apt-get, through sudo unless ``id -u`` says root, and nothing when
    both are there; then it runs ``make -j2 venv gitlab-ci-local`` and ``make test``. PATH
    is a folder of fakes alone: ``command -v`` finds npm or rsync only where ``present``
    names it; ``id -u`` prints ``uid``; sudo logs and runs its command. ``apt``: the
    apt-get calls expected, each after its sudo call when not root."""
    log = tmp_path / "calls.log"
    bin_dir = fake_bin(tmp_path / "bin", "apt-get", "make", *present)
    script(bin_dir / "sudo", f'{LOG_CALL}\nexec "$@"')
    script(bin_dir / "id", f"echo {uid}")
    done = run([str(REPO / ".ci" / "run")], tmp_path, {"PATH": str(bin_dir), "FAKE_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    calls = logged(log)
    assert [call[1:] for call in calls] == [
        *apt,
        ["make", "-j2", "venv", "gitlab-ci-local"],
        ["make", "test"],
    ]
    assert {call[0] for call in calls} == {str(REPO)}
