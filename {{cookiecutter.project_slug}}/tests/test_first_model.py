"""A first model must earn its place: with an empty registry, only the baseline gate stands
between a model that learned nothing and the champion alias."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from {{ cookiecutter.package_name }} import cli, entry
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.steps import deploy, train, validate

from .conftest import recorded_task_values
from .mlflow_stores import registry, seeded
from .test_promotion import register_model

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def unregistered(trained, tmp_path_factory) -> Context:
    """The trained synthetic tables with a new, empty MLflow store (no model at all)."""
    ctx, _ = trained
    root = tmp_path_factory.mktemp("first-model") / "state"
    shutil.copytree(ctx.settings.local_root / "warehouse", root / "warehouse")
    return Context(replace(ctx.settings, local_root=seeded(root)))


def test_a_model_that_learned_nothing_is_refused_and_the_real_model_promoted(
    unregistered, monkeypatch
):
    ctx = unregistered
    assert ctx.settings.validation["mode"] == "enabled"
    name = ctx.settings.model_name
    nothing = register_model(ctx, labels="mean")
    assert nothing == 1  # the registry was empty

    # The entry point on this test's settings (its windows are not the local env's pins);
    # its one validate run is the verdict checked below.
    monkeypatch.setattr(entry, "settings_of", lambda args: ctx.settings)
    verdicts = []
    real_validate = validate.run

    def recorded(*args, **kwargs):
        verdicts.append(real_validate(*args, **kwargs))
        return verdicts[-1]

    with monkeypatch.context() as patch:
        patch.setattr(validate, "run", recorded)
        assert cli.validate(["--env", "local", "--model-version", "1", "--fail-on-rejection"]) == 3
    (verdict,) = verdicts

    assert verdict["model_version"] == nothing
    assert verdict["champion_version"] is None
    assert (verdict["status"], verdict["gate_result"]) == ("FAILED", "FAILED")
    assert verdict["gates"] == {"max_rmse": "PASSED", "baseline": "FAILED"}
    # Every prediction is the mean training label, so its RMSE is the baseline's.
    assert verdict["metrics"]["root_mean_squared_error"] == pytest.approx(verdict["baseline_rmse"])
    assert "does not beat the mean baseline" in verdict["reasons"][0]
    refused = deploy.run(ctx, version=nothing)
    assert refused["promoted"] is False and refused["champion_version"] is None
    assert refused["reason"] == "v1 has validation_status FAILED"

    published = recorded_task_values(monkeypatch, train)
    real = train.run(ctx)["model_version"]
    assert published == [("model_version", str(real))] and real == 2

    verdict = validate.run(ctx, version=real)
    outcome = deploy.run(ctx, version=real)

    assert (verdict["status"], verdict["gates"]["baseline"]) == ("PASSED", "PASSED")
    assert verdict["metrics"]["root_mean_squared_error"] < 0.95 * verdict["baseline_rmse"]
    assert outcome["promoted"] is True and outcome["validated_against"] == "none"
    champion = registry(ctx).get_model_version_by_alias(name, "champion")
    assert int(champion.version) == real
    assert champion.tags["validation_gate_baseline"] == "PASSED"
