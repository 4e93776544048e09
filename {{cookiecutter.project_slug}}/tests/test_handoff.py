"""run-all hands the trained version to validate and deploy; a rejection can stop it.

The steps are replaced by recorders here: what is tested is the orchestration in
cli.py (which version each step receives, when the run stops, the exit status).
``validate`` alone needs no Spark.
The steps themselves are tested on data in test_lifecycle.py and test_promotion.py.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }} import cli, entry
from {{ cookiecutter.package_name }}.checks import DataCheckError

ROOT = Path(__file__).resolve().parents[1]
CI_SLICE = ROOT / "ci" / "data-slice.yml"


def console_script(name: str):
    """The function pyproject.toml's console script ``name`` runs."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    module, function = scripts["scripts"][name].split(":")
    return getattr(importlib.import_module(module), function)


def recorded_steps(monkeypatch, verdict: str) -> list[tuple[str, dict]]:
    """Replace the CLI's steps with recorders; validate answers ``verdict``."""
    calls: list[tuple[str, dict]] = []

    def run_step(step, ctx, **kwargs):
        calls.append((step, kwargs))
        if step == "train":
            return {"model_version": 7}
        if step == "validate":
            return {"model_version": kwargs.get("version", 99), "status": verdict}
        if step == "deploy":
            return {"challenger_version": kwargs.get("version"), "champion_version": 7}
        return {}

    monkeypatch.setattr(entry, "run_step", run_step)
    return calls


@pytest.mark.spark  # run_pipeline counts the rows of every table at the end
def test_validate_and_deploy_get_the_version_train_registered(monkeypatch, ctx):
    calls = recorded_steps(monkeypatch, "PASSED")
    summary = cli.run_pipeline(ctx)
    received = dict(calls)
    assert received["validate"] == {"version": 7}
    assert received["deploy"] == {"version": 7}
    assert received["train"] == {} and received["batch_inference"] == {}
    assert summary["rejected"] is None and summary["champion_version"] == 7


@pytest.mark.spark  # run_pipeline counts the rows of every table at the end
def test_a_rejected_candidate_stops_the_run_only_when_asked(monkeypatch, ctx):
    """Stopped before deploy, the summary names the champion the registry still has."""
    ctx.mlflow()
    client, name = MlflowClient(), ctx.settings.model_name
    client.create_registered_model(name)
    for _ in range(2):
        client.create_model_version(name, source="file:///nowhere", run_id=None)
    client.set_registered_model_alias(name, ctx.settings.champion_alias, "2")
    calls = recorded_steps(monkeypatch, "FAILED")
    summary = cli.run_pipeline(ctx, stop_on_rejection=True)
    assert [step for step, _ in calls] == ["ingest", "features", "train", "validate"]
    assert (summary["rejected"], summary["champion_version"]) == (7, 2)
    text = cli.format_summary(summary)
    assert f"model: {name}  champion version: 2" in text
    assert "stopped after validate: v7 was rejected" in text

    calls.clear()
    summary = cli.run_pipeline(ctx)
    assert [step for step, _ in calls] == list(cli.STEPS)
    assert summary["rejected"] is None


@pytest.mark.parametrize(
    ("argv", "verdict", "status"),
    [
        (["--fail-on-rejection"], "FAILED", 3),
        (["--fail-on-rejection"], "PASSED", 0),
        ([], "FAILED", 0),
        (["--config", str(CI_SLICE)], "FAILED", 3),  # validation.fail_on_rejection: true
    ],
)
def test_validate_exit_status(monkeypatch, argv, verdict, status):
    calls = recorded_steps(monkeypatch, verdict)
    assert cli.validate(["--env", "local", "--model-version", "4", *argv]) == status
    assert calls == [("validate", {"version": 4})]


@pytest.mark.spark  # run_pipeline counts the rows of every table at the end
def test_run_all_exits_3_on_a_rejection_with_the_flag(monkeypatch, tmp_path, spark):
    del spark  # started by the fixture, shared with the Context run_all builds
    recorded_steps(monkeypatch, "FAILED")
    monkeypatch.setenv("MLOPS_LOCAL_ROOT", str(tmp_path))
    assert cli.run_all(["--env", "local", "--fail-on-rejection"]) == 3


def test_run_all_lists_the_steps_that_ran_before_the_one_that_failed(monkeypatch, tmp_path, capsys):
    calls = recorded_steps(monkeypatch, "PASSED")
    recorder = entry.run_step

    def failing_deploy(step, ctx, **kwargs):
        if step == "deploy":
            raise DataCheckError("deploy refused here")
        return recorder(step, ctx, **kwargs)

    monkeypatch.setattr(entry, "run_step", failing_deploy)
    monkeypatch.setenv("MLOPS_LOCAL_ROOT", str(tmp_path))
    assert console_script("run-all")(["--env", "local"]) == 1
    assert [step for step, _ in calls] == ["ingest", "features", "train", "validate"]
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in err] == [
        "ingest",
        "features",
        "train",
        "validate",
        "error",
    ]
    assert all(re.fullmatch(r"\w+: done in \d+(\.\d+)? s", line) for line in err[:4]), err
    assert err[-1] == "error: deploy refused here"


def test_run_all_says_why_nothing_can_be_scored_when_the_first_candidate_is_refused(
    monkeypatch, tmp_path, capsys
):
    """An empty registry and a rejected first candidate, without --fail-on-rejection:
    deploy refuses it, and the run ends there naming deploy's reason, instead of going on
    to batch inference, whose "no champion alias: run deploy first" hides that deploy ran."""
    calls = recorded_steps(monkeypatch, "FAILED")
    recorder = entry.run_step

    def real_answers(step, ctx, **kwargs):
        if step == "deploy":
            calls.append((step, kwargs))
            reason = "v7 has validation_status FAILED"
            return {"challenger_version": 7, "champion_version": None, "reason": reason}
        if step == "batch_inference":  # as the step answers on a registry without champion
            calls.append((step, kwargs))
            raise LookupError("model m has no 'champion' alias: run deploy first")
        return recorder(step, ctx, **kwargs)

    monkeypatch.setattr(entry, "run_step", real_answers)
    monkeypatch.setenv("MLOPS_LOCAL_ROOT", str(tmp_path))
    assert console_script("run-all")(["--env", "local"]) == 1
    assert [step for step, _ in calls] == ["ingest", "features", "train", "validate", "deploy"]
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith(
        "error: deploy did not promote v7 (v7 has validation_status FAILED) and there is no "
        "champion to score with: batch_inference"  # and the steps optional parts add
    )
    assert last.endswith(" did not run")
