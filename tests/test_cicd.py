"""CI/CD files of rendered projects: schemas, linters, and the same stages on every platform."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from ci_files import (
    CI_FILES,
    CONDITION_READERS,
    PUSH_ONLY,
    READERS,
    STAGE_READERS,
    ci_paths,
)
from conftest import CONTEXT, REPO, ivy_dir, render, run
from matrix import CLOUDS, COMBINATIONS, PLATFORMS, USE_CASES, rendered, text_files

# The jobs every platform runs, once: job name -> commands its shell text must contain
# (tabular; STAGES_OF has the rag project's). test_target also runs every job of the
# bundle, checked against resources/ below.
STAGES = {
    "lint": ["pre-commit run --all-files"],
    "unit_tests": ['pytest -m "not integration"'],
    "integration": [
        "pytest -m integration",
        "run-all --env local --config ci/data-slice.yml --fail-on-rejection",
    ],
    "bundle_validate": ["databricks bundle validate -t staging"],  # prod: deploy_prod's own
    "test_target": ["databricks bundle deploy -t test"],
    "deploy_staging": ["databricks bundle deploy -t staging"],
    "deploy_prod": ["databricks bundle validate -t prod", "databricks bundle deploy -t prod"],
}
STAGES_OF = {  # per use case; rag's CI slice sets evaluation.fail_on_rejection in its config
    "tabular": STAGES,
    "rag": {
        **STAGES,
        "integration": [
            "pytest -m integration",
            "run-all --env local --config ci/data-slice.yml --summary summary.json",
        ],
    },
}
# The order they run in on every platform: stage name -> its jobs.
PIPELINE = [
    ("check", ["bundle_validate", "integration", "lint", "unit_tests"]),
    ("test_target", ["test_target"]),
    ("deploy", ["deploy_prod", "deploy_staging"]),
]
# The order the test target's jobs must run in (each reads what the one before wrote).
TEST_TARGET_JOBS = {
    "tabular": [
        "feature_engineering_job",
        "model_training_job",
        "batch_inference_job",
        "streaming_inference_job",
        "monitoring_job",
    ],
    "rag": ["document_indexing_job", "qa_pipeline_job", "qa_monitoring_job"],
}
CI_PLATFORMS = [p for p in PLATFORMS if p != "none"]
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
    for stage, commands in STAGES_OF[use_case].items():
        for command in commands:
            assert command in jobs[stage], f"{platform} {stage}: missing `{command}`"
    if use_case == "rag":  # its run-all would refuse the tabular gate switch
        assert "--fail-on-rejection" not in jobs["integration"], platform
    prod = jobs["deploy_prod"]  # validated before it deploys (pull requests never validate it)
    assert prod.index("bundle validate -t prod") < prod.index("bundle deploy -t prod"), platform


@pytest.mark.parametrize("use_case", USE_CASES)
@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_every_platform_runs_the_stages_in_the_same_order(platform, use_case, tmp_path_factory):
    """GitLab and Azure name the stages; GitHub's order is the depth in its `needs` graph."""
    project = rendered(tmp_path_factory, {"cicd_platform": platform, "use_case": use_case})
    stages = STAGE_READERS[platform](project)
    assert [jobs for _, jobs in stages] == [jobs for _, jobs in PIPELINE]
    if platform != "github_actions":
        assert [name for name, _ in stages] == [name for name, _ in PIPELINE]


def test_the_order_check_catches_a_drift(tmp_path):
    """A GitLab file whose deploy no longer waits for the test target fails the comparison."""
    project = render(tmp_path, cicd_platform="gitlab")
    path = project / ".gitlab-ci.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("  stage: deploy\n", "  stage: test_target\n"),
        encoding="utf-8",
    )
    assert [jobs for _, jobs in STAGE_READERS["gitlab"](project)] != [j for _, j in PIPELINE]


@pytest.mark.parametrize("use_case", USE_CASES)
@pytest.mark.parametrize("optional", [True, False])
@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_test_target_runs_every_bundle_job_in_order(platform, optional, use_case, tmp_path_factory):
    """tabular: features, training (gate enforced on `test`), batch inference, then streaming
    inference and monitoring when rendered; rag: document indexing, QA pipeline, QA monitoring
    (include_monitoring and include_streaming_inference ignored). No job of the bundle is
    left out."""
    answers = {"include_monitoring": optional, "include_streaming_inference": optional}
    answers |= {"cicd_platform": platform, "use_case": use_case}
    project = rendered(tmp_path_factory, answers)
    text = READERS[platform](project)["test_target"]
    runs = re.findall(r"databricks bundle run -t test (\S+)", text)
    bundle_jobs = set()
    for path in project.glob("resources/*.yml"):
        bundle_jobs |= set(yaml.safe_load(path.read_text())["resources"].get("jobs", {}))
    assert sorted(runs) == sorted(bundle_jobs)
    assert runs == [job for job in TEST_TARGET_JOBS[use_case] if job in bundle_jobs]
    if use_case == "rag":
        assert runs == TEST_TARGET_JOBS["rag"]
    else:
        assert ("monitoring_job" in runs) == ("streaming_inference_job" in runs) == optional
    assert text.index("bundle deploy -t test") < text.index("bundle run -t test")


@pytest.mark.parametrize("use_case", USE_CASES)
@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_events_decide_which_stages_run(platform, use_case, tmp_path):
    """Checks run on every event; the test target on pushes to both branches; each
    deployment on pushes to its own branch only."""
    project = render(
        tmp_path,
        cicd_platform=platform,
        default_branch="trunk",
        release_branch="ship",
        use_case=use_case,
    )
    conditions = CONDITION_READERS[platform](project)
    for job in PIPELINE[0][1]:
        assert conditions[job] == "", f"{platform} {job} is conditional: {conditions[job]}"
    branches = {
        "test_target": {"trunk", "ship"},
        "deploy_staging": {"trunk"},
        "deploy_prod": {"ship"},
    }
    for job, expected in branches.items():
        named = {b for b in ("trunk", "ship") if re.search(rf"\b{b}\b", conditions[job])}
        assert named == expected, f"{platform} {job}: {conditions[job]}"
        assert PUSH_ONLY[platform] in conditions[job], f"{platform} {job} runs on pull requests"


def test_github_caches_pip_and_ivy(tmp_path_factory):
    project = rendered(tmp_path_factory, {"cicd_platform": "github_actions"})
    ivy = f"~/{ivy_dir(project)}"
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    for name in ("lint", "unit_tests", "integration"):
        steps = workflow["jobs"][name]["steps"]
        python = [s for s in steps if "setup-python" in s.get("uses", "")]
        assert python and python[0]["with"]["cache"] == "pip", name
        cached = {s["with"]["path"] for s in steps if "actions/cache" in s.get("uses", "")}
        assert (ivy in cached) == (name != "lint"), (name, cached)


def test_gitlab_caches_pip_and_ivy(tmp_path_factory):
    project = rendered(tmp_path_factory, {"cicd_platform": "gitlab"})
    ivy = ivy_dir(project)
    document = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    paths = document["default"]["cache"]["paths"]
    variables = document["variables"]
    assert variables["PIP_CACHE_DIR"] == "$CI_PROJECT_DIR/.cache/pip" and ".cache/pip" in paths
    assert variables["IVY_CACHE"] == f"$CI_PROJECT_DIR/.cache/{ivy.lstrip('.')}"
    assert f".cache/{ivy.lstrip('.')}" in paths
    for name in ("unit_tests", "integration"):
        before = "\n".join(document[name]["before_script"])
        assert f'ln -s "$IVY_CACHE" ~/{ivy}' in before, name


def test_azure_caches_pip_and_ivy(tmp_path_factory):
    project = rendered(tmp_path_factory, {"cicd_platform": "azure_devops"})
    ivy = ivy_dir(project)
    document = yaml.safe_load((project / "azure-pipelines.yml").read_text())
    variables = {v["name"]: v["value"] for v in document["variables"] if "name" in v}
    assert variables["IVY_CACHE"].endswith(f"/{ivy.lstrip('.')}")
    (check,) = [s for s in document["stages"] if s["stage"] == "check"]
    for job in check["jobs"]:
        if job["job"] == "bundle_validate":
            continue
        steps = job["steps"]
        cached = {s["inputs"]["path"] for s in steps if s.get("task") == "Cache@2"}
        assert "$(PIP_CACHE_DIR)" in cached, job["job"]
        assert ("$(IVY_CACHE)" in cached) == (job["job"] != "lint"), job["job"]
        if job["job"] != "lint":
            assert any(f'ln -s "$(IVY_CACHE)" ~/{ivy}' in s.get("bash", "") for s in steps)


CLI = CONTEXT["__databricks_cli_version"]
CLI_VARIABLE = {  # where each platform's file declares DATABRICKS_CLI_VERSION
    "github_actions": lambda doc: doc["env"]["DATABRICKS_CLI_VERSION"],
    "gitlab": lambda doc: doc["variables"]["DATABRICKS_CLI_VERSION"],
    "azure_devops": lambda doc: {v.get("name"): v.get("value") for v in doc["variables"]}[
        "DATABRICKS_CLI_VERSION"
    ],
}
VERSION = re.compile(r"\d+\.\d+\.\d+")


@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_databricks_cli_version_is_the_one_pin(platform, tmp_path_factory):
    """Every platform installs the CLI of ``__databricks_cli_version``, given once per file.

    The GitHub action's SHA comment names the action release: bumping the pin without
    moving the action to the same release fails here too.
    """
    assert re.fullmatch(r"\d+\.\d+\.\d+", CLI), "pin one exact version"
    project = rendered(tmp_path_factory, {"cicd_platform": platform})
    (path,) = ci_paths(project)
    text = path.read_text(encoding="utf-8")
    assert CLI_VARIABLE[platform](yaml.safe_load(text)) == CLI
    action_lines = [line for line in text.splitlines() if "setup-cli@" in line]
    assert {v for line in action_lines for v in VERSION.findall(line)} <= {CLI}
    assert text.count(CLI) == 1 + len(action_lines), "the version is written once, as a variable"
    if platform == "github_actions":
        for job in yaml.safe_load(text)["jobs"].values():
            for step in job["steps"]:
                if "setup-cli" in step.get("uses", ""):
                    assert step["with"]["version"] == "${{ env.DATABRICKS_CLI_VERSION }}"
    else:
        installs = re.findall(r"setup-cli/(\S+)/install\.sh", text)
        assert installs and set(installs) <= {
            "v${DATABRICKS_CLI_VERSION}",
            "v$(DATABRICKS_CLI_VERSION)",
        }


def _ruff_pins(pre_commit_config: Path) -> list[list[str]]:
    """The additional_dependencies of each ruff hook of a .pre-commit-config.yaml."""
    config = yaml.safe_load(pre_commit_config.read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    return [hook["additional_dependencies"] for hook in hooks if hook["id"].startswith("ruff")]


def test_ruff_is_one_version_for_make_lint_the_lint_hooks_and_the_generator(default_project):
    """`make lint` (the dev extra's ruff) and CI's lint job (pre-commit's ruff hooks) run the
    ruff that the generator's tests lint every render with (requirements-dev.txt)."""
    (pin,) = re.findall(r"^ruff==(\S+)", (REPO / "requirements-dev.txt").read_text(), re.M)
    pyproject = tomllib.loads((default_project / "pyproject.toml").read_text(encoding="utf-8"))
    dev = pyproject["project"]["optional-dependencies"]["dev"]
    assert [r for r in dev if r.startswith("ruff")] == [f"ruff=={pin}"]
    for config in (default_project, REPO):
        pins = _ruff_pins(config / ".pre-commit-config.yaml")
        assert pins == [[f"ruff=={pin}"]] * 2, config


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_deployment_docs_speak_of_a_ci_file_only_when_one_is_rendered(
    platform, tmp_path_factory
):
    """The section "What CI runs" of docs/deployment.md describes the rendered file (its
    credentials, caches, the CLI version declared in it) only when there is one; with
    ``cicd_platform=none`` it says what a CI of one's own must hold. Both name the CLI
    version."""
    project = rendered(tmp_path_factory, {"cicd_platform": platform})
    docs = (project / "docs" / "deployment.md").read_text(encoding="utf-8")
    what_ci_runs = docs.split("\n## What CI runs\n")[1].split("\n## ")[0]
    about_the_file = re.findall(r"\b(?:the|per) (?:CI )?file\b", what_ci_runs)
    assert bool(about_the_file) == bool(ci_paths(project)), about_the_file
    assert CLI in what_ci_runs


# What each platform calls a proposed change; the render's wording is cookiecutter.json's
# __change_request.
CHANGE_REQUEST = {"gitlab": "merge request", "github_actions": "pull request"}
CHANGE_REQUEST_WORDS = re.compile(r"\b(pull|merge)[ _-]requests?\b", re.IGNORECASE)


@pytest.mark.parametrize("use_case", USE_CASES)
@pytest.mark.parametrize("platform", [*CI_PLATFORMS, "none"])
def test_every_file_calls_a_change_by_the_platforms_name(platform, use_case, tmp_path_factory):
    """Docs, comments, make help and CI messages say "merge request" in a GitLab render and
    "pull request" elsewhere (Azure Repos and GitHub both say pull request; so does the
    render with no CI). Names of the platforms' own keys (``pull_request:``,
    ``merge_request_event``) are the platform's and stay."""
    project = rendered(tmp_path_factory, {"cicd_platform": platform, "use_case": use_case})
    term = CHANGE_REQUEST.get(platform, "pull request")
    keys = {"pull_request", "merge_request"}  # (merge_request_event: no word ends after request)
    said = {
        (str(path), match.group(0).lower().replace("-", " "))
        for path, text in text_files(project).items()
        for match in CHANGE_REQUEST_WORDS.finditer(text)
        if match.group(0) not in keys
    }
    wrong = sorted((path, words) for path, words in said if not words.startswith(term))
    assert not wrong, wrong
    assert {"README.md", "docs/deployment.md"} & {path for path, _ in said}


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


def _mappings(node):
    """Every mapping in the parsed YAML ``node``, at any depth."""
    if isinstance(node, dict):
        yield node
        node = list(node.values())
    if isinstance(node, list):
        for child in node:
            yield from _mappings(child)


def _variable(ci: dict, name: str) -> str:
    """The value of the variable ``name`` an Azure Pipelines file declares."""
    (value,) = {v["value"] for v in _mappings(ci) if v.get("name") == name}
    return value


# Per platform: the Python versions that one parsed CI file sets up.
CI_PYTHONS = {
    "github_actions": lambda ci: {
        step["with"]["python-version"].replace(
            "${{ env.PYTHON_VERSION }}", ci["env"]["PYTHON_VERSION"]
        )
        for step in _mappings(ci)
        if str(step.get("uses", "")).startswith("actions/setup-python@")
    },
    "gitlab": lambda ci: {node["image"] for node in _mappings(ci) if "image" in node},
    "azure_devops": lambda ci: {
        task["inputs"]["versionSpec"].replace("$(PYTHON_VERSION)", _variable(ci, "PYTHON_VERSION"))
        for task in _mappings(ci)
        if task.get("task") == "UsePythonVersion@0"
    },
}
CI_PYTHON_FORM = {"github_actions": "{}", "gitlab": "python:{}-bookworm", "azure_devops": "{}"}


@pytest.mark.parametrize("version", CONTEXT["python_version"])
def test_python_version_is_the_least_the_project_supports_and_the_one_ci_runs(version, tmp_path):
    """What the python_version prompt says: requires-python's lower bound, and the Python of
    every CI job that sets one up, on each platform."""
    for platform in CI_PLATFORMS:
        project = render(tmp_path / platform, cicd_platform=platform, python_version=version)
        pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
        assert f'requires-python = ">={version}"' in pyproject.splitlines()
        pythons = set()
        for path in ci_paths(project):
            pythons |= CI_PYTHONS[platform](yaml.safe_load(path.read_text(encoding="utf-8")))
        assert pythons == {CI_PYTHON_FORM[platform].format(version)}, platform


@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_branches_come_from_the_answers(platform, tmp_path):
    project = render(
        tmp_path, cicd_platform=platform, default_branch="trunk", release_branch="ship"
    )
    text = "\n".join(p.read_text(encoding="utf-8") for p in ci_paths(project))
    assert "trunk" in text and "ship" in text
    assert not re.search(r"\b(main|release)\b", text.replace("release_branch", "")), platform


TRIGGER_LISTS = {  # the branch lists that start a pipeline, per platform (GitLab: rules only)
    "github_actions": lambda doc: [
        doc[True][event]["branches"] for event in ("push", "pull_request")
    ],
    "gitlab": lambda doc: [],
    "azure_devops": lambda doc: [doc[key]["branches"]["include"] for key in ("trigger", "pr")],
}
QUOTED_BRANCH = {  # how each platform's conditions quote a branch
    "github_actions": "'refs/heads/{}'",
    "gitlab": '"{}"',
    "azure_devops": "'refs/heads/{}'",
}


@pytest.mark.parametrize(
    ("default", "release"), [("feature/x-y_z.2", "v1.0.0"), ("4.0", "null"), ("2024", "1.10")]
)
@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_a_branch_of_every_character_the_hook_allows_stays_one_branch(
    platform, default, release, tmp_path
):
    """Branch names may hold letters, digits and - _ . / (pre_gen's CI_BRANCH): such a name
    is one item of each trigger list and a whole quoted string in the deploy conditions,
    also when YAML would read it unquoted as a number or null."""
    project = render(
        tmp_path, cicd_platform=platform, default_branch=default, release_branch=release
    )
    (path,) = ci_paths(project)
    for branches in TRIGGER_LISTS[platform](yaml.safe_load(path.read_text(encoding="utf-8"))):
        assert branches == [default, release], platform
    conditions = CONDITION_READERS[platform](project)
    assert QUOTED_BRANCH[platform].format(default) in conditions["deploy_staging"]
    assert QUOTED_BRANCH[platform].format(release) in conditions["deploy_prod"]


# Every cloud with the default use case, and the rag use case (its CI files run other
# jobs) on the default cloud.
SCHEMA_RENDERS = [*({"cloud": cloud} for cloud in CLOUDS), {"use_case": "rag"}]


@pytest.mark.parametrize("answers", SCHEMA_RENDERS, ids=lambda a: "-".join(a.values()))
@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_ci_files_pass_their_schema(platform, answers, tmp_path_factory):
    project = rendered(tmp_path_factory, {"cicd_platform": platform, **answers})
    paths = ci_paths(project)
    assert paths, f"no CI file rendered for {platform}"
    for path in paths:
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


def _github(tmp_path_factory, use_case: str = USE_CASES[0]) -> Path:
    """The GitHub Actions render of ``use_case`` (the default one shared with other tests)."""
    answers = {"cicd_platform": "github_actions"}
    if use_case != USE_CASES[0]:
        answers["use_case"] = use_case
    return rendered(tmp_path_factory, answers)


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
            talks_to_databricks = name.startswith(("bundle_", "test_target", "deploy_"))
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


def test_the_github_federation_subjects_of_the_docs_are_the_jobs_environments(tmp_path_factory):
    """docs/deployment.md names, per job that gets an OIDC token, the subject its token
    carries: `environment:<name>` for a job with a deployment environment (staging and
    test for the staging principal, prod alone for production), the pull request and
    branch subjects for the one job without (bundle_validate)."""
    project = _github(tmp_path_factory)
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    docs = (project / "docs" / "deployment.md").read_text(encoding="utf-8")
    documented = {
        job: environment
        for environment, job in re.findall(r":environment:(\w+)` \(job `(\w+)`\)", docs)
    }
    with_token = {
        name: job
        for name, job in workflow["jobs"].items()
        if job.get("permissions", {}).get("id-token") == "write"
    }
    assert documented == {n: j["environment"] for n, j in with_token.items() if "environment" in j}
    assert [n for n, j in with_token.items() if "environment" not in j] == ["bundle_validate"]
    assert "for job `bundle_validate` (no environment" in docs
    production = docs.split("production principal:")[1].split("\n- ")[0]
    assert re.findall(r":environment:(\w+)`", production) == ["prod"]


# actionlint 1.7.12 predates GitHub's `concurrency.queue` (2026-05-07) and reports it as an
# unknown key (rhysd/actionlint#657); only that message is ignored, for that one key.
QUEUE_UNKNOWN = r'^unexpected key "queue" for "concurrency" section'


@pytest.mark.parametrize("use_case", USE_CASES)
def test_actionlint(tmp_path_factory, use_case):
    actionlint = _tool("actionlint")
    if not actionlint:
        reason = "actionlint not installed (make venv builds it with `go install`)"
        print(reason)
        pytest.skip(reason)
    project = _github(tmp_path_factory, use_case)
    workflows = [str(p) for p in project.glob(".github/workflows/*.yml")]
    result = _run([actionlint, "-no-color", "-ignore", QUEUE_UNKNOWN, *workflows], project)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("use_case", USE_CASES)
def test_zizmor_finds_nothing_of_medium_severity_or_above(tmp_path_factory, use_case):
    project = _github(tmp_path_factory, use_case)
    zizmor = _tool("zizmor")
    assert zizmor, "zizmor is in requirements-dev.txt"
    command = [zizmor, "--offline", "--min-severity", "medium", "--format", "json", ".github"]
    result = _run(command, project)
    findings = json.loads(result.stdout or "[]")
    assert findings == [], json.dumps(findings, indent=1)[:3000]
    assert result.returncode == 0, result.stderr[-2000:]


ONE_AT_A_TIME = {  # how each platform keeps a second pipeline off the shared `test` target
    # One group for every ref (no ${{ github.ref }} in it): main's and release's runs queue,
    # all of them (`queue: max`; by default a third run would cancel the one waiting).
    "github_actions": lambda doc: (
        doc["jobs"]["test_target"]["concurrency"]
        == {"group": "databricks-test-target", "cancel-in-progress": False, "queue": "max"}
    ),
    "gitlab": lambda doc: doc["test_target"]["resource_group"] == "test",
    "azure_devops": lambda doc: (
        [s for s in doc["stages"] if s["stage"] == "test_target"][0]["lockBehavior"] == "sequential"
    ),
}


@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_the_test_target_runs_one_pipeline_at_a_time(platform, tmp_path_factory):
    project = rendered(tmp_path_factory, {"cicd_platform": platform})
    (path,) = ci_paths(project)
    assert ONE_AT_A_TIME[platform](yaml.safe_load(path.read_text(encoding="utf-8")))


# Each platform's own name, as the docs write it.
PLATFORM_NAMES = {"github_actions": "GitHub", "gitlab": "GitLab", "azure_devops": "Azure DevOps"}


@pytest.mark.parametrize("use_case", USE_CASES)
@pytest.mark.parametrize("platform", CI_PLATFORMS)
def test_what_ci_runs_names_no_other_platform(platform, use_case, tmp_path_factory):
    """The section "What CI runs" of docs/deployment.md speaks of the rendered platform
    alone: a GitLab render told how GitHub queues runs was told nothing about its own."""
    project = rendered(tmp_path_factory, {"cicd_platform": platform, "use_case": use_case})
    docs = (project / "docs" / "deployment.md").read_text(encoding="utf-8")
    what_ci_runs = docs.split("\n## What CI runs\n")[1].split("\n### ")[0]
    others = [name for p, name in PLATFORM_NAMES.items() if p != platform]
    assert not [name for name in others if name in what_ci_runs]


def test_gitlab_docs_order_every_resource_group_of_the_ci_file(tmp_path_factory):
    """GitLab runs a resource group's waiting jobs in no set order (process mode
    ``unordered``) unless its API sets ``oldest_first``; the docs tell to set it for each
    group the rendered .gitlab-ci.yml declares, so an older commit never deploys over a
    newer one."""
    project = rendered(tmp_path_factory, {"cicd_platform": "gitlab"})
    document = yaml.safe_load((project / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    groups = {job["resource_group"] for job in _mappings(document) if "resource_group" in job}
    assert groups == {"test", "staging", "prod"}
    docs = (project / "docs" / "deployment.md").read_text(encoding="utf-8")
    (instruction,) = [line for line in docs.split("\n- ") if "process_mode=oldest_first" in line]
    assert {g for g in groups if f"`{g}`" in instruction} == groups
    # The call itself (GitLab's "Edit an existing resource group" API): PUT on the group.
    assert "--request PUT" in instruction
    assert "/api/v4/projects/<id>/resource_groups/<group>" in instruction


def _make(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``make <args>`` run in ``project`` (``env``: its environment, else this one's), its
    output captured as text, at most 60 s; it may fail."""
    return run(["make", "--no-print-directory", *args], project, env)


def test_make_help_lists_every_documented_target(default_project):
    """`make help` prints every target of the Makefile's .PHONY line, each with its
    description."""
    makefile = (default_project / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY: (.+)$", makefile, re.M).group(1).split()
    result = _make(default_project, "help")
    assert result.returncode == 0, result.stderr
    listed = dict(re.findall(r"^(\S+) +(.+)$", result.stdout, re.M))
    assert sorted(listed) == sorted(phony)
    assert {"install", "test-unit", "test-integration", "lint", "help"} <= set(listed)
    assert all(
        f"{target}:" in makefile and f"## {text}\n" in makefile for target, text in listed.items()
    )
    assert listed["test-unit"] == (
        "the unit tier, as CI runs it on every pull request (no integration run)"
    )


def test_make_targets_run_the_tiers_as_ci_does(default_project):
    """`make test-unit` / `make test-integration` run the same pytest selections as CI."""
    makefile = (default_project / "Makefile").read_text(encoding="utf-8")
    recipes = dict(re.findall(r"^(test-\w+):.*\n\t(.+)$", makefile, re.M))
    assert recipes["test-unit"].endswith(STAGES["unit_tests"][0])
    assert recipes["test-integration"].endswith(STAGES["integration"][0])


def test_make_hooks_and_update_template_run_only_at_the_top_of_the_projects_own_git_repo(
    default_project, tmp_path
):
    """In a project folder inside another git repository (the template's `build/demo`),
    `make hooks` and `make update-template` stop before running anything; after `git init`
    in the project they run their tools (fakes here, which log their arguments)."""
    checkout = tmp_path / "checkout"
    project = checkout / "build" / "demo"
    project.mkdir(parents=True)
    shutil.copy(default_project / "Makefile", project / "Makefile")
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    tools = tmp_path / "venv" / "bin"
    tools.mkdir(parents=True)
    log = tmp_path / "calls.log"
    for tool in ("python", "pip", "pre-commit", "cruft"):  # python, cruft: prerequisites
        (tools / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n', encoding="utf-8")
        (tools / tool).chmod(0o755)
    venv = f"VENV={tmp_path / 'venv'}"
    for target in ("hooks", "update-template"):
        refused = _make(project, target, venv)
        assert refused.returncode != 0
        assert refused.stderr.splitlines()[0] == (
            f"error: make {target} needs {project} to be the top of its own git repository, "
            f"not a folder of {checkout} "
            "(copy it out of that repository and run git init in the copy)"
        )
    assert not log.exists()  # no tool ran
    # Without cruft in the venv, update-template still refuses before installing anything.
    missing = tmp_path / "no-venv"
    refused = _make(project, "update-template", f"VENV={missing}")
    assert refused.returncode != 0 and "to be the top of its own git repository" in refused.stderr
    assert not missing.exists()
    # Outside any repository: git's own message, then the advice.
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(default_project / "Makefile", alone / "Makefile")
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    refused = _make(alone, "hooks", venv, env=env)
    assert refused.returncode != 0
    assert refused.stderr.splitlines()[0].startswith("fatal: not a git repository")
    assert refused.stderr.splitlines()[1] == (
        f"error: make hooks needs {alone} in a git repository of its own (run git init there first)"
    )
    assert not log.exists()

    subprocess.run(["git", "init", "-q", str(project)], check=True)
    assert _make(project, "hooks", venv).returncode == 0
    assert log.read_text(encoding="utf-8").splitlines() == [
        "pip install --quiet -e .[tools]",
        "pre-commit install",
        "pre-commit run --all-files",
    ]
    log.unlink()
    updated = _make(project, "update-template", venv)
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout.splitlines()[0].endswith(
        "cruft update --skip-apply-ask --refresh-private-variables --allow-untracked-files"
    )
    assert log.read_text(encoding="utf-8").splitlines() == [
        "cruft update --skip-apply-ask --refresh-private-variables --allow-untracked-files"
    ]
