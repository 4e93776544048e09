"""The Spark tier: install rendered projects and run their own tests (pipelines included).

The project is installed into a virtual environment of its own that sees this
environment's packages (through a .pth file) and may not download anything
(``--no-index``): a dependency range of the rendered pyproject.toml that the
test environment does not satisfy fails the install.
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig

import pytest
from conftest import render

pytestmark = pytest.mark.spark


def _run(args, cwd, env=None, timeout=1800):
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{args} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


def _install(root, **answers):
    """(project folder, bin folder of its venv): the project rendered with ``answers``."""
    project = render(root / "out", **answers)
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=root)
    child_site = next((venv / "lib").glob("python*/site-packages"))
    (child_site / "_generator_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = venv / "bin" / "python"
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--no-build-isolation",
            "-e",
            project,
        ],
        cwd=project,
    )
    return project, venv / "bin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(project folder, bin folder of its venv) for the default project, installed."""
    return _install(tmp_path_factory.mktemp("spark-tier"))


def _own_tests_pass(project, bin_dir, at_least, *pytest_args):
    """Run the project's own pytest (with ``pytest_args``); all pass, at least ``at_least``."""
    result = _run(
        [bin_dir / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args],
        cwd=project,
    )
    summary = result.stdout.strip().splitlines()[-1]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert "failed" not in summary and "error" not in summary, summary
    assert passed >= at_least, summary


def test_rendered_project_passes_its_own_integration_tests(installed):
    """The default project's integration tier (real data: January, the full year, retraining).

    January runs twice there, once per kind of session: in-process on classic Spark, and
    through the ``run-all`` console script over Spark Connect (the API of Databricks
    serverless), which must give the same tables and champion. No pipeline run of this
    module repeats one of them. Its unit tier runs in tests/test_gitlab_ci_local.py,
    through the rendered GitLab job, on a render that differs from this one only in its CI
    files: it is not run twice.
    """
    _own_tests_pass(*installed, 5, "-m", "integration")


def test_project_without_the_feature_store_passes_its_own_tests(tmp_path):
    """The other variant of include_feature_store: a prepared model-input table, no store.py."""
    project, bin_dir = _install(
        tmp_path, project_name="Prepared Input", include_feature_store=False
    )
    assert not (project / "src" / "prepared_input" / "features" / "store.py").exists()
    assert (project / "tests" / "test_prepared_input.py").is_file()
    # What differs in this variant: the prepared model_input table (its own tests) and the
    # January pipeline end to end on it. The rest of its code is the default project's, whose
    # unit tier runs in the GitLab job test and whose integration tier runs above.
    # The Spark Connect run of January is the default project's (same steps over Connect).
    # test_features.py proves a rerun of this variant's features step adds no rows (the
    # January integration test no longer reruns it). test_spine.py: this variant checks
    # the spine in its features step, before the feature tables' MERGE.
    _own_tests_pass(
        project,
        bin_dir,
        13,
        "tests/test_prepared_input.py",
        "tests/test_features.py",
        "tests/test_spine.py",
        "tests/test_integration.py",
        "-k",
        "not spark_connect",
    )


def test_rag_project_passes_its_own_tests(tmp_path):
    """use_case=rag: no tabular module is rendered; the project's own suite runs its pipeline
    on a slice of the corpus (gates, prompt versions, generator server, monitoring) offline."""
    project, bin_dir = _install(
        tmp_path,
        project_name="Doc QA",
        description="Answer questions on the Python standard library documentation.",
        use_case="rag",
    )
    package = project / "src" / "doc_qa"
    assert not (package / "steps" / "train.py").exists() and not (package / "features").exists()
    assert (package / "rag" / "steps" / "build.py").is_file()
    assert (package / "cli.py").is_file() and not (package / "cli.rag.py").exists()
    _own_tests_pass(project, bin_dir, at_least=15)
