"""CI/CD files of rendered projects: schemas, linters, and the same stages on every platform."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ci_files import CI_FILES, READERS, ci_paths
from conftest import REPO, render
from matrix import CLOUDS, COMBINATIONS, PLATFORMS, USE_CASES, rendered

# The stages every platform runs, once: job name -> commands its shell text must contain.
STAGES = {
    "lint": ["pre-commit run --all-files"],
    "unit_tests": ['pytest -m "not integration"'],
    "integration": ["run-all --env local --config ci/data-slice.yml"],
    "bundle_validate": [
        "databricks bundle validate -t staging",
        "databricks bundle validate -t prod",
    ],
    "deploy_staging": [
        "databricks bundle deploy -t staging",
        "databricks bundle deploy -t test",
        "databricks bundle run -t test feature_engineering_job",
        "databricks bundle run -t test model_training_job",
    ],
    "deploy_prod": ["databricks bundle deploy -t prod"],
}
RAG_JOBS = {  # tabular job -> the rag job CI runs in its place
    "feature_engineering_job": "document_indexing_job",
    "model_training_job": "qa_pipeline_job",
}
CI_PLATFORMS = [p for p in PLATFORMS if p != "none"]


def stages(use_case: str) -> dict[str, list[str]]:
    """STAGES with the jobs the ``use_case`` project runs on the test target."""
    if use_case == "tabular":
        return STAGES
    renamed = {}
    for stage, commands in STAGES.items():
        for old, new in RAG_JOBS.items():
            commands = [c.replace(old, new) for c in commands]
        renamed[stage] = commands
    return renamed


SCHEMAS = {
    "github_actions": ["--builtin-schema", "vendor.github-workflows"],
    "gitlab": ["--builtin-schema", "vendor.gitlab-ci"],
    "azure_devops": ["--builtin-schema", "vendor.azure-pipelines", "--regex-variant", "python"],
}
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


@pytest.fixture(params=COMBINATIONS)
def combo(request) -> dict:
    return request.param


def _tool(name: str) -> str | None:
    """A command from PATH or from the running interpreter's bin folder (the test venv)."""
    beside = Path(sys.executable).with_name(name)
    return shutil.which(name) or (str(beside) if beside.exists() else None)


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_only_the_chosen_platform_has_ci_files(combo, tmp_path_factory):
    project = rendered(tmp_path_factory, combo)
    expected = {p for g in CI_FILES.get(combo["cicd_platform"], []) for p in project.glob(g)}
    assert set(ci_paths(project)) == expected
    if combo["cicd_platform"] != "none":
        assert expected, f"no CI file for {combo['cicd_platform']}"
    assert not (project / ".github").exists() or combo["cicd_platform"] == "github_actions"


@pytest.mark.parametrize("use_case", USE_CASES)
@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_every_platform_runs_the_same_stages(platform, use_case, tmp_path_factory):
    project = rendered(tmp_path_factory, {"cicd_platform": platform, "use_case": use_case})
    jobs = READERS[platform](project)
    assert set(jobs) == set(STAGES)
    for stage, commands in stages(use_case).items():
        for command in commands:
            assert command in jobs[stage], f"{platform} {stage}: missing `{command}`"


@pytest.mark.parametrize("use_case", USE_CASES)
@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_ci_names_only_existing_targets_and_jobs(platform, use_case, tmp_path_factory):
    project = rendered(tmp_path_factory, {"cicd_platform": platform, "use_case": use_case})
    bundle = yaml.safe_load((project / "databricks.yml").read_text(encoding="utf-8"))
    jobs = set()
    for path in project.glob("resources/*.yml"):
        jobs |= set(yaml.safe_load(path.read_text())["resources"].get("jobs", {}))
    text = "\n".join(READERS[platform](project).values())
    named = set(re.findall(r"(?:-t|--target) (\S+)", text))
    assert named and named <= set(bundle["targets"]), named - set(bundle["targets"])
    runs = set(re.findall(r"bundle run -t \S+ (\S+)", text))
    assert runs and runs <= jobs, runs - jobs


@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_branches_come_from_the_answers(platform, tmp_path):
    project = render(
        tmp_path, cicd_platform=platform, default_branch="trunk", release_branch="ship"
    )
    text = "\n".join(p.read_text(encoding="utf-8") for p in ci_paths(project))
    assert "trunk" in text and "ship" in text
    assert not re.search(r"\b(main|release)\b", text.replace("release_branch", "")), platform


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_ci_files_pass_their_schema(platform, cloud, tmp_path_factory):
    project = rendered(tmp_path_factory, {"cicd_platform": platform, "cloud": cloud})
    for path in ci_paths(project):
        result = _run(
            [sys.executable, "-m", "check_jsonschema", *SCHEMAS[platform], str(path)], project
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_no_stored_credentials(platform, tmp_path_factory):
    project = rendered(tmp_path_factory, {"cicd_platform": platform})
    for path in ci_paths(project):
        text = path.read_text(encoding="utf-8")
        assert "DATABRICKS_TOKEN" not in text and "secrets." not in text, path.name
        assert not re.search(r"dapi[0-9a-f]{16,}", text), path.name


def _github(tmp_path_factory) -> Path:
    return rendered(tmp_path_factory, {"cicd_platform": "github_actions"})


def test_github_workflows_are_locked_down(tmp_path_factory):
    project = _github(tmp_path_factory)
    for path in project.glob(".github/workflows/*.yml"):
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
        assert "pull_request_target" not in triggers and "workflow_run" not in triggers
        assert workflow["permissions"] == {"contents": "read"}
        assert "group" in workflow["concurrency"]
        for name, job in workflow["jobs"].items():
            assert isinstance(job.get("timeout-minutes"), int), f"{name}: no timeout-minutes"
            uses_oidc = job.get("permissions", {}).get("id-token") == "write"
            talks_to_databricks = name.startswith(("bundle_", "deploy_"))
            assert uses_oidc == talks_to_databricks, f"{name}: id-token permission"
            for step in job["steps"]:
                if "uses" in step:
                    assert PINNED.match(step["uses"]), f"{name}: {step['uses']} not pinned by SHA"


def test_github_expressions_survive_rendering(tmp_path_factory):
    project = _github(tmp_path_factory)
    template = REPO / "{{cookiecutter.project_slug}}" / ".github" / "workflows"
    for source in template.glob("*.yml"):
        text = (project / ".github" / "workflows" / source.name).read_text(encoding="utf-8")
        expressions = re.findall(r"\$\{\{.*?\}\}", source.read_text(encoding="utf-8"))
        assert expressions, f"{source.name} has no expressions to check"
        for expression in expressions:
            assert expression in text, f"{expression} lost in rendering"
        assert "{%" not in text and "cookiecutter" not in text


def test_actionlint(tmp_path_factory):
    actionlint = _tool("actionlint")
    if not actionlint:
        reason = "actionlint not installed (make venv builds it with `go install`)"
        print(reason)
        pytest.skip(reason)
    project = _github(tmp_path_factory)
    workflows = [str(p) for p in project.glob(".github/workflows/*.yml")]
    result = _run([actionlint, "-no-color", *workflows], project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_of_medium_severity_or_above(tmp_path_factory):
    project = _github(tmp_path_factory)
    zizmor = _tool("zizmor")
    assert zizmor, "zizmor is in requirements-dev.txt"
    command = [zizmor, "--offline", "--min-severity", "medium", "--format", "json", ".github"]
    result = _run(command, project)
    findings = json.loads(result.stdout or "[]")
    assert findings == [], json.dumps(findings, indent=1)[:3000]
    assert result.returncode == 0, result.stderr[-2000:]
