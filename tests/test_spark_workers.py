"""The Spark tier's split over its two workers (tests/spark_workers.py): every Spark test of
this repo has a group and every entry names one; on sample test files named like the real
ones, each group runs whole on one worker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO, run
from spark_workers import GITLAB, PIPELINES, SPARK_GROUPS, group_of

TESTS = Path(__file__).resolve().parent
INI = "[pytest]\nmarkers =\n    spark: needs a JVM\n"
# A sample test records the worker that ran it in a file named after the test.
BODY = (
    "\n\n@pytest.mark.spark\ndef {name}():\n"
    "    Path(os.environ['WORKERS'], '{name}').write_text(os.environ['PYTEST_XDIST_WORKER'])\n"
)


# A plugin (``-p report_groups``) that writes, once the tests are collected, each test's
# file, function and xdist_group marks (the group names) to the JSON file $GROUPS_OUT.
REPORT_GROUPS = """
import json, os

def group_names(item):
    return [m.args[0] if m.args else m.kwargs.get("name") for m in item.iter_markers("xdist_group")]

def pytest_collection_finish(session):
    marks = {
        item.nodeid: [item.path.name, item.originalname, group_names(item)]
        for item in session.items
    }
    with open(os.environ["GROUPS_OUT"], "w", encoding="utf-8") as out:
        json.dump(marks, out)
"""


def _sample_name(file: str, name: str) -> str:
    """The sample test of the SPARK_GROUPS entry (file, name): ``name``, or for "*" a test
    named after the file."""
    return f"test_all_of_{file.removesuffix('.py')}" if name == "*" else name


def _samples(folder: Path) -> None:
    """One sample file per file of SPARK_GROUPS with a test per entry."""
    files: dict[str, list[str]] = {}
    for file, name in SPARK_GROUPS:
        files.setdefault(file, []).append(_sample_name(file, name))
    for file, names in files.items():
        text = "import os\nfrom pathlib import Path\n\nimport pytest\n"
        text += "".join(BODY.format(name=name) for name in names)
        (folder / file).write_text(text, encoding="utf-8")
    (folder / "pytest.ini").write_text(INI, encoding="utf-8")


def _pytest(
    cwd: Path, *args: str, path: tuple[Path, ...] = (), **env: str
) -> subprocess.CompletedProcess:
    """pytest ``args`` run in ``cwd`` with tests/ (then the folders of ``path``) on the path
    and ``env`` set, without the caller's PYTEST_ADDOPTS."""
    env = {**{k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}, **env}
    env["PYTHONPATH"] = os.pathsep.join(map(str, (TESTS, *path)))
    return run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd, env, 300
    )


def test_each_group_runs_whole_on_one_worker_and_the_two_groups_on_two(tmp_path):
    _samples(tmp_path)
    (tmp_path / "workers").mkdir()
    options = ["-p", "spark_workers", "-n", "2", "--dist", "loadgroup", "-m", "spark"]
    result = _pytest(tmp_path, *options, str(tmp_path), WORKERS=str(tmp_path / "workers"))
    assert result.returncode == 0, result.stdout[-2000:]
    ran = {p.name: p.read_text() for p in (tmp_path / "workers").iterdir()}
    by_group: dict[str, set[str]] = {}
    for (file, name), group in SPARK_GROUPS.items():
        by_group.setdefault(group, set()).add(ran[_sample_name(file, name)])
    assert sorted(by_group) == sorted([GITLAB, PIPELINES])
    assert [len(workers) for workers in by_group.values()] == [1, 1]
    assert by_group[GITLAB] != by_group[PIPELINES]


def test_every_spark_test_has_a_group_and_every_entry_names_a_test():
    listed = _pytest(REPO, "--collect-only", "-m", "spark", "tests")
    assert listed.returncode == 0, listed.stdout[-2000:]
    tests = set()
    for line in listed.stdout.splitlines():
        if "::" in line:
            path, name = line.split("::", 1)
            tests.add((Path(path).name, re.sub(r"\[.*\]$", "", name)))
    assert len(tests) >= 7, listed.stdout[-2000:]
    assert [test for test in sorted(tests) if group_of(*test) is None] == []
    named = {(file, name) for file, name in tests} | {(file, "*") for file, _ in tests}
    assert sorted(set(SPARK_GROUPS) - named) == []


def test_the_repo_conftest_marks_every_spark_test_with_its_group(tmp_path):
    """The repo's tests/conftest.py loads the plugin (no ``-p spark_workers`` given): the
    Spark tests, collected as the Spark tier collects them, each carry one xdist_group mark,
    the group SPARK_GROUPS gives them, and the two groups are both used."""
    (tmp_path / "report_groups.py").write_text(REPORT_GROUPS, encoding="utf-8")
    out = tmp_path / "groups.json"
    options = ["-p", "report_groups", "--collect-only", "-m", "spark", "tests"]
    listed = _pytest(REPO, *options, path=(tmp_path,), GROUPS_OUT=str(out))
    assert listed.returncode == 0, listed.stdout[-2000:]
    marks = json.loads(out.read_text(encoding="utf-8"))
    assert len(marks) >= 7, marks
    groups = {nodeid: groups for nodeid, (_, _, groups) in marks.items()}
    assert groups == {nodeid: [group_of(file, test)] for nodeid, (file, test, _) in marks.items()}
    assert sorted({group for (group,) in groups.values()}) == sorted([GITLAB, PIPELINES])
