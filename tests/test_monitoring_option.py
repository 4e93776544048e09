"""include_monitoring=false leaves no monitoring setting, table, flag, entry point or code path."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml
from conftest import render

# Every name the monitoring option brings: the step and its package, its table, its
# settings, its flags and task value, and the words of its figures.
MONITORING_NAMES = re.compile(
    r"monitor|drift|\bpsi\b|retrain|violation|kolmogorov|ks_statistic|data_quality"
    r"|insufficient_data",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def without_monitoring(tmp_path_factory):
    return render(tmp_path_factory.mktemp("no-monitoring"), include_monitoring=False)


def test_no_file_of_the_project_names_monitoring(without_monitoring):
    hits = []
    for path in sorted(without_monitoring.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(without_monitoring).as_posix()
        if relative == ".cruft.json":  # the answers, for template updates: include_monitoring
            continue
        if MONITORING_NAMES.search(relative):
            hits.append(relative)
            continue
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            if MONITORING_NAMES.search(line):
                hits.append(f"{relative}:{number}: {line.strip()}")
    assert hits == []


def test_the_grep_finds_the_names_when_monitoring_is_on(default_project):
    """The search above can fail: on the default project it finds each kind of name."""
    texts = "\n".join(
        p.read_text(encoding="utf-8") for p in default_project.rglob("*") if p.is_file()
    )
    found = {m.group(0).lower() for m in MONITORING_NAMES.finditer(texts)}
    assert {"monitor", "drift", "psi", "retrain", "violation", "data_quality"} <= found


def test_entry_points_and_config_without_monitoring(without_monitoring, default_project):
    def scripts(project):
        return tomllib.loads((project / "pyproject.toml").read_text())["project"]["scripts"]

    def config(project):
        path = next(project.glob("src/*/conf/config.yml"))
        return yaml.safe_load(path.read_text(encoding="utf-8"))["common"]

    off, on = scripts(without_monitoring), scripts(default_project)
    assert off["run-all"].endswith(".cli:run_all") and "monitor" not in off
    assert on["run-all"].endswith(".monitoring.cli:run_all")
    assert on["monitor"].endswith(".monitoring.cli:monitor")
    assert "monitoring" not in config(without_monitoring)
    assert "monitoring_metrics" not in config(without_monitoring)["tables"]
    assert config(default_project)["monitoring"]["ks_statistic_threshold"] == 0.1
