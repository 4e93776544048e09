"""The rendered Databricks bundle: schema, typed resources, and parity with the package."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from bundle import (
    bundle_schema,
    load_bundle,
    merged_resources,
    schema_errors,
    schema_validator,
)
from conftest import render
from matrix import COMBINATIONS, rendered

TARGETS = {"dev", "staging", "prod", "test"}
JOBS = {  # per use case: job key -> entry points of its wheel tasks, in order
    "tabular": {
        "feature_engineering_job": ["ingest", "features"],
        "model_training_job": ["train", "validate", "deploy"],
        "batch_inference_job": ["batch-inference"],
        "streaming_inference_job": ["stream-inference"],
        "monitoring_job": ["monitor"],
    },
    "rag": {
        "document_indexing_job": ["ingest-documents", "index"],
        "qa_pipeline_job": ["register-prompt", "build", "evaluate", "deploy"],
        "qa_monitoring_job": ["monitor"],
    },
}
NODE_TYPE_SHAPE = {  # what a node type id of each cloud looks like
    "aws": lambda n: "." in n and not n.startswith(("Standard_", "n2-")),
    "azure": lambda n: n.startswith("Standard_"),
    "gcp": lambda n: n.startswith(("n1-", "n2-", "n2d-", "e2-")),
}
HOST_SUFFIX = {
    "aws": ".cloud.databricks.com",
    "azure": ".azuredatabricks.net",
    "gcp": ".gcp.databricks.com",
}


@pytest.fixture(scope="session")
def validator():
    return schema_validator(bundle_schema())


@pytest.fixture(params=COMBINATIONS)
def combo(request) -> dict:
    """One combination of answers (cloud, cicd_platform, compute)."""
    return request.param


@pytest.fixture(params=[c for c in COMBINATIONS if c.values[0]["use_case"] == "tabular"])
def tabular_project(request, tmp_path_factory) -> Path:
    """A tabular render of each deployment combination (checks of the flights jobs only)."""
    return rendered(tmp_path_factory, request.param)


@pytest.fixture(params=[c for c in COMBINATIONS if c.values[0]["use_case"] == "rag"])
def rag_project(request, tmp_path_factory) -> Path:
    """A rag render of each deployment combination (checks of the rag jobs only)."""
    return rendered(tmp_path_factory, request.param)


@pytest.fixture
def project(combo, tmp_path_factory) -> Path:
    return rendered(tmp_path_factory, combo)


def _package(project: Path) -> str:
    return tomllib.loads((project / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]["packages"][0].split("/")[-1]


def _wheel_tasks(job: dict) -> list[dict]:
    return [t for t in job["tasks"] if "python_wheel_task" in t]


def _config(project: Path) -> dict:
    path = project / "src" / _package(project) / "conf" / "config.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_bundle_files_validate_against_schema(project, validator):
    root, included = load_bundle(project)
    assert included, "databricks.yml includes no resource files"
    for path, document in {project / "databricks.yml": root, **included}.items():
        errors = schema_errors(validator, document)
        assert not errors, f"{path.name}:\n" + "\n".join(errors)


def test_schema_check_rejects_a_broken_job(default_project, validator):
    """The schema check itself can fail: an unknown task field is reported."""
    _, included = load_bundle(default_project)
    document = included[default_project / "resources" / "model-training-job.yml"]
    document["resources"]["jobs"]["model_training_job"]["tasks"][0]["entrypoint"] = "train"
    assert schema_errors(validator, document)


def test_resources_load_as_typed_classes(project):
    from databricks.bundles.experiments import MlflowExperiment
    from databricks.bundles.jobs import Job
    from databricks.bundles.registered_models import RegisteredModel
    from databricks.bundles.vector_search_endpoints import VectorSearchEndpoint
    from databricks.bundles.volumes import Volume

    loaders = {
        "jobs": Job,
        "experiments": MlflowExperiment,
        "registered_models": RegisteredModel,
        "volumes": Volume,
        "vector_search_endpoints": VectorSearchEndpoint,
    }
    resources = merged_resources(project)
    assert set(resources) <= set(loaders), f"no typed check for {set(resources) - set(loaders)}"
    for kind, items in resources.items():
        for key, spec in items.items():
            # Every field is one the typed class knows: it gives the same spec back.
            assert loaders[kind].from_dict(spec).as_dict() == spec, f"{kind}.{key}"


def test_typed_classes_reject_unknown_fields():
    from databricks.bundles.jobs import Job

    with pytest.raises(ValueError, match="Unexpected field"):
        Job.from_dict({"name": "x", "max_concurent_runs": 1})


def test_targets_and_wheel_artifact(project):
    root, _ = load_bundle(project)
    targets = root["targets"]
    assert set(targets) == TARGETS
    assert targets["dev"]["mode"] == "development" and targets["dev"]["default"] is True
    # docs/deployment.md: staging and prod in production mode under /Workspace/Shared/.bundle/
    # (as test, which CI deploys too); dev, a person's own copy, under their home folder.
    shared = "/Workspace/Shared/.bundle/${bundle.name}/${bundle.target}"
    for name in ("staging", "prod"):
        assert targets[name]["mode"] == "production", name
    for name in ("staging", "prod", "test"):
        assert targets[name]["workspace"]["root_path"] == shared, name
    assert "root_path" not in targets["dev"]["workspace"]
    assert [name for name, t in targets.items() if t.get("default")] == ["dev"]
    assert root["include"] == ["resources/*.yml"]
    assert root["bundle"]["name"] == project.name
    (artifact,) = root["artifacts"].values()
    assert artifact["type"] == "whl"
    assert "build --wheel" in artifact["build"]


def test_every_deploy_stamps_a_new_wheel_version(project, combo):
    """A redeploy without a version bump must not run a wheel the compute cached."""
    root, _ = load_bundle(project)
    (artifact,) = root["artifacts"].values()
    assert artifact.get("dynamic_version") is True, combo["compute"]


def _environment_settings(project) -> tuple[dict, dict]:
    """(common, {environment: its block}) of the rendered conf/config.yml."""
    (config_path,) = project.glob("src/*/conf/config.yml")
    config = yaml.safe_load(config_path.read_text())
    return config["common"], config["environments"]


def test_the_test_target_enforces_the_gate(project, combo):
    """Every target runs the same jobs; the CI `test` target enforces the gate.

    Tabular: `validation.fail_on_rejection` is true in the `test` environment alone
    (the one place per-environment settings live), not a second copy of the task, and
    `validation.mode` is enabled. Rag: `evaluation.mode` is enabled in every
    environment (a rejected candidate is not promoted) and
    `evaluation.fail_on_rejection` is true in `test` alone (its evaluate task fails).
    """
    root, _ = load_bundle(project)
    assert [name for name, t in root["targets"].items() if "resources" in t] == []
    common, environments = _environment_settings(project)
    if combo["use_case"] == "rag":
        modes = {
            env: {**common["evaluation"], **body.get("evaluation", {})}["mode"]
            for env, body in environments.items()
        }
        assert modes == dict.fromkeys(TARGETS | {"local"}, "enabled")
    section = "evaluation" if combo["use_case"] == "rag" else "validation"
    fails = {
        env: {**common[section], **body.get(section, {})}["fail_on_rejection"]
        for env, body in environments.items()
    }
    assert fails.pop("test") is True
    assert set(fails.values()) == {False}
    if combo["use_case"] == "rag":
        return
    test_validation = {**common["validation"], **environments["test"]["validation"]}
    assert test_validation["mode"] == "enabled"


def test_workspaces_follow_the_cloud(project, combo):
    root, _ = load_bundle(project)
    cloud = combo["cloud"]
    hosts = {name: t["workspace"]["host"] for name, t in root["targets"].items()}
    for name, host in hosts.items():
        assert host.startswith("https://") and host.endswith(HOST_SUFFIX[cloud]), (name, host)
    # dev and the CI test target share the staging workspace; prod has its own
    assert hosts["dev"] == hosts["staging"] == hosts["test"] != hosts["prod"]


def test_jobs_and_their_task_graph(project, combo):
    jobs = merged_resources(project)["jobs"]
    expected = JOBS[combo["use_case"]]
    assert set(jobs) == set(expected)
    for key, entry_points in expected.items():
        tasks = _wheel_tasks(jobs[key])
        for before, after in zip(tasks, tasks[1:], strict=False):  # each waits for the one before
            assert after["depends_on"] == [{"task_key": before["task_key"]}], (key, after)
        assert [t["python_wheel_task"]["entry_point"] for t in tasks] == entry_points, key
        keys = {t["task_key"] for t in jobs[key]["tasks"]}
        for task in jobs[key]["tasks"]:
            for dep in task.get("depends_on", []):
                assert dep["task_key"] in keys, (key, task["task_key"], dep)
    if combo["use_case"] == "rag":
        return
    training = {t["task_key"]: t for t in jobs["model_training_job"]["tasks"]}
    assert [d["task_key"] for d in training["validate"]["depends_on"]] == ["train"]
    assert [d["task_key"] for d in training["deploy"]["depends_on"]] == ["validate"]


def test_monitoring_retrains_on_a_task_value(tabular_project):
    """tabular only: the rag monitor alarms (exit status 2), it has no training to trigger."""
    jobs = merged_resources(tabular_project)["jobs"]
    tasks = {t["task_key"]: t for t in jobs["monitoring_job"]["tasks"]}
    conditions = [t for t in tasks.values() if "condition_task" in t]
    (condition,) = conditions
    # The rendered tests/test_monitor.py checks that monitor publishes this `right` value.
    assert condition["condition_task"] == {
        "op": "EQUAL_TO",
        "left": "{{tasks.monitor.values.retraining_required}}",
        "right": "true",
    }
    (trigger,) = [t for t in tasks.values() if "run_job_task" in t]
    assert trigger["depends_on"] == [{"task_key": condition["task_key"], "outcome": "true"}]
    assert trigger["run_job_task"]["job_id"] == "${resources.jobs.model_training_job.id}"


def test_the_rag_monitoring_job_fails_on_an_alarm(rag_project):
    """The monitor task asks for exit status 2 on an alarm (tests/rag/test_monitor.py checks
    the status), so an alarm fails the job, and the CI's run of it on the test target."""
    jobs = merged_resources(rag_project)["jobs"]
    (task,) = jobs["qa_monitoring_job"]["tasks"]
    wheel = task["python_wheel_task"]
    assert wheel["entry_point"] == "monitor"
    assert wheel["parameters"] == ["--env", "${bundle.target}", "--fail-on-alarm"]


def test_without_monitoring_there_is_no_monitoring_job(tmp_path):
    project = render(tmp_path, include_monitoring=False)
    assert not (project / "resources" / "monitoring-job.yml").exists()
    assert "monitoring_job" not in merged_resources(project)["jobs"]


def test_entry_points_exist_in_pyproject_and_package(project):
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    scripts = pyproject["project"]["scripts"]
    package = _package(project)
    for key, job in merged_resources(project)["jobs"].items():
        for task in _wheel_tasks(job):
            wheel = task["python_wheel_task"]
            assert wheel["package_name"] == package, (key, task["task_key"])
            target = scripts.get(wheel["entry_point"])
            assert target, f"{key}.{task['task_key']}: no console script {wheel['entry_point']}"
            module, function = target.split(":")
            path = project / "src" / Path(*module.split("."))
            tree = ast.parse(path.with_suffix(".py").read_text(encoding="utf-8"))
            assert function in _top_level_names(tree), f"{target} is not defined"


def _top_level_names(tree: ast.Module) -> set[str]:
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_task_parameters_name_configured_envs(project):
    environments = set(_config(project)["environments"])
    assert environments >= TARGETS
    for job in merged_resources(project)["jobs"].values():
        for task in _wheel_tasks(job):
            params = task["python_wheel_task"]["parameters"]
            env = params[params.index("--env") + 1]
            assert env == "${bundle.target}" or env in environments, params


def test_bundle_variables_match_the_package_config(project):
    """Per target: catalog, schema, experiment and model name equal the config env's."""
    root, _ = load_bundle(project)
    config = _config(project)
    defaults = {name: spec.get("default") for name, spec in root["variables"].items()}
    for target, spec in root["targets"].items():
        values = {**defaults, **spec.get("variables", {})}
        env = _merge(config["common"], config["environments"][target])
        assert values["catalog"] == env["catalog"], target
        assert values["schema"] == env["schema"], target
        assert values["experiment_name"] == env["model"]["experiment"], target
        assert values["model_name"] == env["model"]["name"], target
    catalogs = {
        spec.get("variables", {}).get("catalog", defaults["catalog"])
        for spec in root["targets"].values()
    }
    assert len(catalogs) == len(TARGETS), "targets share a catalog"


def test_every_task_runs_as_of_the_job_parameter_and_the_test_target_pins_it(tabular_project):
    """Jobs pass the job parameter as_of (default: the run's start date) as --as-of;
    the test target pins the same dates as the `test` settings in conf/config.yml.
    tabular only: rag steps read the current corpus and the traces up to now (no as-of)."""
    project = tabular_project
    root, _ = load_bundle(project)
    start_date = "{{job.start_time.iso_date}}"
    assert root["variables"]["as_of"]["default"] == start_date
    assert root["variables"]["training_as_of"]["default"] == start_date
    for key, job in merged_resources(project)["jobs"].items():
        variable = "training_as_of" if key == "model_training_job" else "as_of"
        assert job["parameters"] == [{"name": "as_of", "default": f"${{var.{variable}}}"}], key
        for task in _wheel_tasks(job):
            params = task["python_wheel_task"]["parameters"]
            assert params[params.index("--as-of") + 1] == "{{job.parameters.as_of}}", key
        for task in job["tasks"]:
            if "run_job_task" in task:  # retraining runs as of the monitored date
                assert task["run_job_task"]["job_parameters"] == {
                    "as_of": "{{job.parameters.as_of}}"
                }
    pinned = root["targets"]["test"]["variables"]
    windows = _config(project)["environments"]["test"]["windows"]
    assert (pinned["as_of"], pinned["training_as_of"]) == (
        windows["as_of"],
        windows["training_as_of"],
    )


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and key in out else value
    return out


def test_vector_search_endpoint_matches_the_package_config(project, combo):
    """rag: each target's config names the endpoint the bundle declares for that target."""
    endpoints = merged_resources(project).get("vector_search_endpoints", {})
    if combo["use_case"] == "tabular":
        assert endpoints == {}
        return
    (endpoint,) = endpoints.values()
    config = _config(project)
    for target in TARGETS:
        env = _merge(config["common"], config["environments"][target])
        name = endpoint["name"].replace("${bundle.target}", target)
        assert env["embedding"]["vector_search"]["endpoint"] == name, target
        assert env["embedding"]["kind"] == "databricks_endpoint", target


def test_compute_matches_the_answer(project, combo):
    compute, cloud = combo["compute"], combo["cloud"]
    for key, job in merged_resources(project)["jobs"].items():
        tasks = _wheel_tasks(job)
        if compute == "serverless":
            assert "job_clusters" not in job, key
            envs = {e["environment_key"]: e["spec"] for e in job["environments"]}
            for task in tasks:
                assert "../dist/*.whl" in envs[task["environment_key"]]["dependencies"]
        else:
            assert "environments" not in job, key
            clusters = {c["job_cluster_key"]: c["new_cluster"] for c in job["job_clusters"]}
            for task in tasks:
                node = clusters[task["job_cluster_key"]]["node_type_id"]
                assert NODE_TYPE_SHAPE[cloud](node), (key, cloud, node)
                assert {"whl": "../dist/*.whl"} in task["libraries"]


def test_schedules_pause_outside_staging_and_prod(project):
    root, _ = load_bundle(project)
    assert root["variables"]["schedule_pause_status"]["default"] == "PAUSED"
    for name, target in root["targets"].items():
        status = target.get("variables", {}).get("schedule_pause_status", "PAUSED")
        assert status == ("UNPAUSED" if name in {"staging", "prod"} else "PAUSED"), name
    for key, job in merged_resources(project)["jobs"].items():
        assert job["schedule"]["pause_status"] == "${var.schedule_pause_status}", key
        assert {"level": "CAN_VIEW", "group_name": "${var.read_user_group}"} in job["permissions"]


# Each daily job is scheduled later in the day than the jobs whose tables it reads
# (docs/deployment.md, Targets).
DAILY_ORDER = (
    ("feature_engineering_job", "batch_inference_job", "monitoring_job"),
    ("document_indexing_job", "qa_pipeline_job", "qa_monitoring_job"),
)


def test_schedules_are_utc_hourly_stream_weekly_training_daily_jobs_in_reading_order(project):
    jobs = merged_resources(project)["jobs"]
    assert {job["schedule"]["timezone_id"] for job in jobs.values()} == {"UTC"}
    # Quartz fields: second minute hour day-of-month month day-of-week
    fields = {key: job["schedule"]["quartz_cron_expression"].split() for key, job in jobs.items()}
    assert all(f[0] == "0" and f[1].isdigit() and f[4] == "*" for f in fields.values()), fields
    if "streaming_inference_job" in fields:
        assert fields["streaming_inference_job"][2:] == ["*", "*", "*", "?"]  # every hour
    if "model_training_job" in fields:
        assert fields["model_training_job"][3:] == ["?", "*", "MON"]  # once a week
    for order in DAILY_ORDER:
        present = [key for key in order if key in jobs]
        assert all(
            fields[key][2].isdigit() and fields[key][3:] == ["*", "*", "?"] for key in present
        )
        starts = [(int(fields[key][2]), int(fields[key][1])) for key in present]
        assert starts == sorted(set(starts)), (present, starts)  # (hour, minute), increasing
    assert any(key in jobs for order in DAILY_ORDER for key in order)


def test_model_grants_and_experiment_permissions(project):
    resources = merged_resources(project)
    (model,) = resources["registered_models"].values()
    assert model["catalog_name"] == "${var.catalog}" and model["schema_name"] == "${var.schema}"
    assert {"principal": "${var.read_user_group}", "privileges": ["EXECUTE"]} in model["grants"]
    (experiment,) = resources["experiments"].values()
    assert experiment["name"] == "${var.experiment_name}"


def test_answers_reach_the_bundle(tmp_path):
    project = render(
        tmp_path,
        cloud="azure",
        databricks_prod_workspace_host="https://adb-42.4.azuredatabricks.net",
        read_user_group="ml-readers",
        catalog_prod="ml_prod",
        schema_name="delays",
    )
    root, _ = load_bundle(project)
    assert root["targets"]["prod"]["workspace"]["host"] == "https://adb-42.4.azuredatabricks.net"
    assert root["targets"]["prod"]["variables"]["catalog"] == "ml_prod"
    assert root["variables"]["read_user_group"]["default"] == "ml-readers"
    assert root["variables"]["schema"]["default"] == "delays"
    config = _config(project)
    assert config["environments"]["prod"]["catalog"] == "ml_prod"
    assert config["environments"]["prod"]["schema"] == "delays"


@pytest.mark.parametrize("use_case", ["tabular", "rag"])
def test_a_group_name_that_yaml_would_misread_reaches_bundle_and_config_intact(tmp_path, use_case):
    """The group is free text (not blank, one line): ": " or " #" in it, or a value such as
    ``yes``, must neither break databricks.yml and conf/config.yml nor be cut or typed."""
    for group in ("ML: readers #1", "yes"):
        project = render(tmp_path / group[:2], use_case=use_case, read_user_group=group)
        root, _ = load_bundle(project)
        assert root["variables"]["read_user_group"]["default"] == group
        assert _config(project)["common"]["serving"]["query_group"] == group


def test_deployment_docs_and_no_template_leftovers(project, combo):
    docs = (project / "docs" / "deployment.md").read_text(encoding="utf-8")
    heading = {
        "github_actions": "### GitHub Actions",
        "gitlab": "### GitLab CI/CD",
        "azure_devops": "### Azure DevOps",
        "none": "### Your CI",
    }
    for platform, title in heading.items():
        assert (title in docs) == (platform == combo["cicd_platform"]), title
    surface = [project / "databricks.yml", project / "docs" / "deployment.md"]
    surface += list(project.glob("resources/*.yml"))
    for path in surface:
        text = path.read_text(encoding="utf-8")
        assert "{%" not in text and "cookiecutter" not in text, path.name


def test_test_target_runs_the_ci_data_slice(default_project):
    """The `test` env reads the same slice as the local CI run, so CI runs stay short."""
    config = _config(default_project)
    test_env = config["environments"]["test"]
    data_slice = yaml.safe_load((default_project / "ci" / "data-slice.yml").read_text())
    for key in ("source", "windows", "validation"):
        assert _merge(config["common"][key], test_env[key]) == _merge(
            config["common"][key], data_slice[key]
        ), key


def test_every_target_env_loads_with_the_package_config_loader(default_project):
    """The package's own loader accepts each target's settings (windows, runtime, names)."""
    package = _package(default_project)
    code = (
        f"from {package}.config import load_settings\n"
        "for env in ('dev', 'staging', 'prod', 'test'):\n"
        "    s = load_settings(env)\n"
        "    print(env, s.runtime, s.model_name, s.experiment)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(default_project / "src")},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(" databricks " in line for line in lines), lines
