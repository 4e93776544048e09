"""Gates that hold in production, on a private copy of the trained synthetic state.

Scoring with a null in an integer input, the validation modes with a deliberately
worse model, the version handed from step to step, deploy's compare-and-set,
promotion, and rollback.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

import mlflow
import pandas as pd
import pytest
from mlflow.entities.model_registry import ModelVersion
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }} import cli, entry
from {{ cookiecutter.package_name }}.config import ConfigError, Window, parse_as_of
from {{ cookiecutter.package_name }}.features.training_set import window_predicate
from {{ cookiecutter.package_name }}.modeling import build_pipeline, log_model
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.steps import (
    batch_inference,
    deploy,
    features,
    rollback,
    validate,
)

from .conftest import CONTRACT, FEATURES, LABEL, changed_contract, private_copy, utc
from .json_checks import strict_json
from .mlflow_stores import registry

pytestmark = pytest.mark.spark


@pytest.fixture
def staged(trained, tmp_path) -> Context:
    """A private copy of the trained state (tables and MLflow store, v1 the champion) for
    one test, which may change it: every test starts from the same state, whatever ran
    before it (a test that promotes a worse model leaves the next one's champion alone)."""
    return private_copy(trained[0], tmp_path / "state")


def with_mode(ctx: Context, mode: str) -> Context:
    """``ctx`` with ``validation.mode`` set to ``mode`` (same tables and store)."""
    return Context(replace(ctx.settings, validation={**ctx.settings.validation, "mode": mode}))


def train_split(ctx: Context):
    """The train split of the training set of ``ctx``: the model inputs and the label, pandas."""
    columns = FEATURES
    return (
        ctx.tables.read(ctx.settings.table("training_set"))
        .where("split = 'train'")
        .select(*columns, LABEL)
        .toPandas()
    )


def register_model(ctx: Context, labels: str = "real", seed: int = 0) -> int:
    """Fit the production pipeline on the train split and register it with the window tags
    of ``ctx``, as train registers its versions; returns the version.

    ``labels`` is what the model is fit on:

    - ``"real"``: the train split's labels, as the train step fits them;
    - ``"mean"``: every label replaced by the train split's mean. The model learned
      nothing: every prediction is the mean baseline's, so the baseline gate refuses it
      whatever the data;
    - ``"shuffled"``: the labels shuffled with ``seed``. The model learned noise and is far
      worse than the real one on the holdout. Against the mean baseline it lands either
      side by chance: on the synthetic holdout (about 150 rows), 4 of 40 seeds beat it by
      the 5 % margin. So tests read only the champion gate for such a model.
    """
    columns = FEATURES
    train = train_split(ctx)
    fit_on = {
        "real": lambda y: y,
        "mean": lambda y: pd.Series(y.mean(), index=y.index),
        "shuffled": lambda y: y.sample(frac=1.0, random_state=seed),
    }[labels](train[LABEL])
    model = build_pipeline(CONTRACT, dict(ctx.settings.training))
    model.fit(train[columns], fit_on.to_numpy())
    ctx.mlflow()
    with mlflow.start_run(run_name=f"{labels}-labels"):
        info = log_model(model, train[columns], ctx.settings.model_name, ctx.settings.window_tags())
    return int(info.registered_model_version)


def champion_version(ctx: Context) -> int:
    """The version the champion alias of ``ctx`` points at."""
    client = registry(ctx)
    return int(client.get_model_version_by_alias(ctx.settings.model_name, "champion").version)


def test_a_null_in_an_integer_input_at_scoring_time_still_gets_a_prediction(staged):
    settings = staged.settings
    bronze = settings.table("flights_bronze")
    flights = staged.tables.read(bronze)
    assert dict(flights.dtypes)["distance"] in ("int", "bigint")
    training = staged.tables.read(settings.table("training_set"))
    assert training.where("distance IS NULL").count() == 0  # never null when the model was fit
    scoring = window_predicate("sched_dep_ts", settings.windows["scoring"])
    target = flights.where(scoring).orderBy("flight_id").first()["flight_id"]
    staged.tables.delta(bronze).update(
        F.col("flight_id") == target, {"distance": F.lit(None).cast("bigint")}
    )
    features.run(staged)  # refresh what scoring reads (the prepared model input, if any)

    result = batch_inference.run(staged)

    scored = staged.tables.read(settings.table("predictions"))
    assert result["rows_scored"] == scored.count() == flights.where(scoring).count()
    row = scored.where(F.col("flight_id") == target).first()
    assert row["distance"] is None
    assert row["prediction"] is not None and -100 < row["prediction"] < 200
    assert scored.where("prediction IS NULL").count() == 0


def test_a_worse_model_fails_the_gate_and_is_not_promoted(staged):
    before = champion_version(staged)
    version = register_model(staged, labels="mean")  # learned nothing

    verdict = validate.run(staged)

    assert verdict["model_version"] == version
    assert verdict["champion_version"] == before
    assert (verdict["status"], verdict["gate_result"]) == ("FAILED", "FAILED")
    assert verdict["gates"] == {"max_rmse": "PASSED", "baseline": "FAILED", "champion": "FAILED"}
    assert len(verdict["reasons"]) == 2
    assert "does not beat the mean baseline" in verdict["reasons"][0]
    assert "max_relative_degradation 5.0%" in verdict["reasons"][1]
    assert verdict["metrics"]["root_mean_squared_error"] < 60  # the absolute gate holds
    holdout = staged.tables.read(staged.settings.table("training_set")).toPandas()
    train_mean = holdout.loc[holdout.split == "train", LABEL].mean()
    labels = holdout.loc[holdout.split == "validation", LABEL]
    # RMSE of a constant guess c: sqrt(variance + (mean - c)^2)
    expected = (labels.var(ddof=0) + (labels.mean() - train_mean) ** 2) ** 0.5
    assert verdict["baseline_rmse"] == pytest.approx(expected)
    assert verdict["baseline"] == pytest.approx(expected)  # the gated metric is RMSE
    # It predicts the mean training label for every flight, as the baseline does.
    assert verdict["metrics"]["root_mean_squared_error"] == pytest.approx(expected)
    rmse, champion_rmse = verdict["metrics"]["root_mean_squared_error"], verdict["champion_rmse"]
    assert verdict["relative_degradation"] == pytest.approx(rmse / champion_rmse - 1)
    assert verdict["champion_figure"] == champion_rmse > 0
    assert verdict["relative_degradation"] > 0.25

    client = registry(staged)
    run = client.get_run(verdict["run_id"])
    assert run.data.params["mode"] == "enabled"
    assert run.data.params["max_relative_degradation"] == "0.05"
    assert run.data.params["max_root_mean_squared_error"] == "60.0"
    assert run.data.params["min_improvement_over_baseline"] == "0.05"
    assert run.data.metrics["baseline_root_mean_squared_error"] == pytest.approx(expected)
    assert run.data.metrics["baseline_prediction"] == pytest.approx(train_mean)
    assert run.data.metrics["improvement_over_baseline"] == pytest.approx(1 - rmse / expected)
    assert run.data.tags["validation_gate_baseline"] == "FAILED"
    assert run.data.params["candidate_version"] == str(version)
    assert run.data.params["champion_version"] == str(before)
    assert run.data.metrics["root_mean_squared_error"] == pytest.approx(rmse)
    assert run.data.metrics["champion_root_mean_squared_error"] == pytest.approx(champion_rmse)
    assert run.data.metrics["relative_degradation"] == pytest.approx(
        verdict["relative_degradation"]
    )
    assert run.data.tags["validation_status"] == "FAILED"
    assert run.data.tags["validation_reasons"] == "; ".join(verdict["reasons"])

    tags = client.get_model_version(staged.settings.model_name, str(version)).tags
    assert tags["validation_status"] == "FAILED"
    assert tags["validation_gate_result"] == "FAILED"
    assert tags["validation_max_relative_degradation"] == "0.05"
    assert tags["validation_max_root_mean_squared_error"] == "60"
    assert tags["validation_min_improvement_over_baseline"] == "0.05"
    assert tags["validation_gate_baseline"] == tags["validation_gate_champion"] == "FAILED"
    assert tags["validation_gate_max_rmse"] == "PASSED"
    assert float(tags["validation_baseline_root_mean_squared_error"]) == pytest.approx(
        expected, rel=1e-4
    )
    assert tags["validation_champion_version"] == str(before)
    assert tags["validation_run_id"] == verdict["run_id"]
    assert float(tags["validation_relative_degradation"]) == pytest.approx(
        verdict["relative_degradation"], rel=1e-4
    )

    outcome = deploy.run(staged, version=version)
    expected = {
        "promoted": False,
        "challenger_version": version,
        "challenger_status": "FAILED",
        "validated_against": str(before),
        "champion_version": before,
        "reason": f"v{version} has validation_status FAILED",
    }
    assert {key: outcome[key] for key in expected} == expected
    assert champion_version(staged) == before


def test_dry_run_records_the_failure_but_lets_deploy_promote(staged):
    before = champion_version(staged)
    version = register_model(staged, labels="shuffled", seed=2)
    dry = with_mode(staged, "dry_run")

    verdict = validate.run(dry)

    assert (verdict["status"], verdict["gate_result"]) == ("PASSED", "FAILED")
    # Far worse than the champion, fit on the real labels (see register_model: the
    # baseline gate's outcome for a model of shuffled labels is left to chance).
    assert verdict["gates"]["champion"] == "FAILED"
    assert verdict["relative_degradation"] > 0.25
    assert any("max_relative_degradation" in reason for reason in verdict["reasons"])
    tags = registry(staged).get_model_version(staged.settings.model_name, str(version)).tags
    assert tags["validation_status"] == "PASSED"
    assert tags["validation_gate_result"] == "FAILED"
    assert tags["validation_mode"] == "dry_run"
    assert "max_relative_degradation" in tags["validation_reasons"]

    outcome = deploy.run(dry)
    assert outcome["promoted"] is True
    assert champion_version(staged) == version
    promoted = registry(staged).get_model_version(staged.settings.model_name, str(version))
    assert promoted.tags["previous_champion"] == str(before)


def test_disabled_mode_scores_nothing_and_passes(staged):
    version = register_model(staged, labels="shuffled", seed=3)

    verdict = validate.run(with_mode(staged, "disabled"))

    assert (verdict["status"], verdict["gate_result"]) == ("PASSED", "SKIPPED")
    assert verdict["reasons"] == [] and verdict["metrics"] == {}
    assert verdict["champion_rmse"] is verdict["champion_figure"] is verdict["baseline"] is None
    run = registry(staged).get_run(verdict["run_id"])
    assert run.data.params["mode"] == "disabled"
    assert run.data.tags["validation_gate_result"] == "SKIPPED"
    assert "root_mean_squared_error" not in run.data.metrics
    assert deploy.run(with_mode(staged, "disabled"))["champion_version"] == version


def test_rollback_walks_back_the_champions_and_stops_with_a_clear_error(
    staged, monkeypatch, capsys
):
    first = champion_version(staged)  # the trained state's champion
    dry = with_mode(staged, "dry_run")
    promoted = []
    for seed in (4, 5):  # two champions after it, each promoted over the one before
        version = register_model(staged, labels="shuffled", seed=seed)
        validate.run(dry)
        assert deploy.run(dry)["champion_version"] == version
        promoted.append(version)
    second, third = promoted

    moved = rollback.run(staged)

    assert (moved["rolled_back_from"], moved["champion_version"]) == (third, second)
    assert champion_version(staged) == second
    client = registry(staged)
    name = staged.settings.model_name
    restored, retired = (
        client.get_model_version(name, str(second)),
        client.get_model_version(name, str(third)),
    )
    assert restored.tags["rolled_back_from"] == str(third)
    assert retired.tags["rolled_back_to"] == str(second)
    assert (
        restored.tags["rolled_back_at"] == retired.tags["rolled_back_at"] == moved["rolled_back_at"]
    )
    # The next scheduled deploy must not undo the rollback.
    again = deploy.run(dry)
    assert again["promoted"] is False and "was rolled back" in again["reason"]
    assert champion_version(staged) == second

    # A second rollback walks one champion further back, to the first, which has none.
    moved = rollback.run(staged)
    assert (moved["rolled_back_from"], moved["champion_version"]) == (second, first)
    assert client.get_model_version(name, str(first)).tags["previous_champion"] == "none"
    with pytest.raises(LookupError, match="nothing to roll back to"):
        rollback.run(staged)
    assert champion_version(staged) == first

    monkeypatch.setenv("MLOPS_LOCAL_ROOT", str(staged.settings.local_root))
    assert cli.rollback(["--env", "local"]) == 1
    assert "nothing to roll back to" in capsys.readouterr().err
    assert champion_version(staged) == first


def test_renamed_aliases_are_the_ones_validate_and_deploy_move(staged):
    renamed = Context(
        replace(staged.settings, champion_alias="serving", challenger_alias="candidate")
    )
    client = registry(staged)
    name = staged.settings.model_name
    champion_before = champion_version(staged)
    version = register_model(staged)

    verdict = validate.run(renamed)
    outcome = deploy.run(renamed)

    assert verdict["model_version"] == version
    assert verdict["champion_version"] is None  # no version carries "serving" yet
    assert outcome["promoted"] is True
    assert int(client.get_model_version_by_alias(name, "candidate").version) == version
    assert int(client.get_model_version_by_alias(name, "serving").version) == version
    assert champion_version(staged) == champion_before


def test_validate_and_deploy_act_on_the_version_passed_in(staged):
    before = champion_version(staged)
    good = register_model(staged)
    newest = register_model(staged, labels="shuffled", seed=7)  # registered later

    verdict = validate.run(staged, version=good)
    outcome = deploy.run(staged, version=good)

    assert (verdict["model_version"], verdict["status"]) == (good, "PASSED")
    assert verdict["champion_version"] == before
    assert outcome["promoted"] is True and outcome["reason"] is None
    assert champion_version(staged) == good
    client = registry(staged)
    name = staged.settings.model_name
    assert client.get_model_version(name, str(good)).tags["validation_champion_version"] == str(
        before
    )
    assert "validation_status" not in client.get_model_version(name, str(newest)).tags


def test_a_champion_moved_after_validation_makes_deploy_refuse(staged):
    client = registry(staged)
    name = staged.settings.model_name
    compared = champion_version(staged)
    candidate = register_model(staged)
    assert validate.run(staged, version=candidate)["status"] == "PASSED"
    moved_to = register_model(staged)
    client.set_registered_model_alias(name, "champion", str(moved_to))  # by hand

    outcome = deploy.run(staged, version=candidate)

    assert outcome["promoted"] is False
    assert outcome["reason"] == (
        f"v{candidate} was validated against v{compared}, but the champion is v{moved_to}: "
        "the champion changed since validation; validate again"
    )
    assert champion_version(staged) == moved_to
    assert "previous_champion" not in client.get_model_version(name, str(candidate)).tags
    # A rerun of an older, once successful deploy does not demote the champion either.
    assert deploy.run(staged, version=compared)["promoted"] is False
    assert champion_version(staged) == moved_to


def champion_taking_a_dropped_input(ctx: Context) -> int:
    """Make, in the state of ``ctx``, a champion that takes one more model input than the
    contract lists (``gate_delay``, 1.0 in every training row), as if trained before the
    contract dropped it: a model fit on the training split under that older contract,
    logged and registered with this as-of's window tags. Returns its version."""
    old = changed_contract(CONTRACT, features={**CONTRACT.features, "gate_delay": "numeric"})
    train = train_split(ctx).assign(gate_delay=1.0)
    model = build_pipeline(old, dict(ctx.settings.training))
    model.fit(train[old.feature_columns], train[LABEL].to_numpy())
    ctx.mlflow()
    with mlflow.start_run(run_name="old-contract"):
        info = log_model(
            model, train[old.feature_columns], ctx.settings.model_name, ctx.settings.window_tags()
        )
    champion = int(info.registered_model_version)
    registry(ctx).set_registered_model_alias(ctx.settings.model_name, "champion", str(champion))
    return champion


def dropped_input_refusal(ctx: Context, champion: int) -> str:
    """The one-line ConfigError of scoring with :func:`champion_taking_a_dropped_input`'s
    ``champion`` in the state of ``ctx``."""
    return (
        f"contract.features: version {champion} of {ctx.settings.model_name} takes model "
        "input gate_delay, which the contract does not list: list it again, or train a "
        "version on this contract and validate it with validation.mode: dry_run so that "
        "deploy promotes it (this champion cannot be compared on the new inputs)"
    )


def test_a_champion_that_cannot_score_the_holdout_fails_the_gate_and_batch_scoring_saying_why(
    trained, tmp_path
):
    """The champion was trained under a contract with one more input (``gate_delay``), which
    the contract no longer has: MLflow refuses to score the holdout with it. The champion
    gate fails with a one-line reason, so the candidate is not promoted for want of a
    comparison; batch inference, still on that champion, refuses in one line before it
    loads the model, and writes nothing."""
    ctx = private_copy(trained[0], tmp_path / "state")
    champion = champion_taking_a_dropped_input(ctx)
    client = registry(ctx)
    candidate = register_model(ctx)

    verdict = validate.run(ctx, version=candidate)

    assert verdict["gates"] == {"max_rmse": "PASSED", "baseline": "PASSED", "champion": "FAILED"}
    assert verdict["reasons"] == [
        f"champion v{champion} not comparable: its signature refuses the "
        "holdout's model inputs: Model is missing inputs ['gate_delay'] (the model inputs "
        "changed since it was trained: it cannot be compared on them); to replace it, set "
        "validation.mode: dry_run to let deploy promote the candidate anyway (its failed "
        "gates are then only recorded)"
    ]
    assert verdict["status"] == "FAILED" and verdict["champion_version"] == champion
    assert math.isnan(verdict["champion_figure"])
    tags = client.get_model_version(ctx.settings.model_name, str(candidate)).tags
    assert tags["validation_gate_champion"] == "FAILED"
    assert tags["validation_reasons"] == verdict["reasons"][0]
    assert deploy.run(ctx, version=candidate)["promoted"] is False
    assert champion_version(ctx) == champion

    with pytest.raises(ConfigError) as error:
        batch_inference.run(ctx)
    assert str(error.value) == dropped_input_refusal(ctx, champion)
    assert not ctx.tables.exists(ctx.settings.table("predictions"))


def champion_trained_into_the_holdout(ctx: Context) -> tuple[int, int]:
    """(champion, candidate) in the state of ``ctx``: the champion's model registered again
    as the candidate, with this as-of's window tags, and the champion's ``window_train``
    tag set to 2013-01-01..2013-01-09, a day into the holdout (2013-01-08..2013-01-10), as
    if trained with a later --as-of: validate does not score the champion."""
    client, name = registry(ctx), ctx.settings.model_name
    champion = champion_version(ctx)
    model = client.get_model_version(name, str(champion))
    tags = ctx.settings.window_tags()
    candidate = int(client.create_model_version(name, model.source, model.run_id, tags).version)
    client.set_model_version_tag(name, str(champion), "window_train", "2013-01-01..2013-01-09")
    return champion, candidate


def test_a_champion_trained_into_the_holdout_fails_the_champion_gate_without_a_figure(
    trained, tmp_path
):
    """Champion v1 tagged as trained on 2013-01-01..2013-01-09, a day into the holdout
    (2013-01-08..2013-01-10), as if trained with a later --as-of: validate of a
    candidate (the same model, registered again with this as-of's tags) does not score it;
    the champion gate fails saying why and what to do, and deploy keeps the champion. A
    candidate trained and validated with the --as-of the reason names is compared. Without a
    window_train tag the champion is compared (its figure is the candidate's, the same
    model). With dry_run the failure is recorded and deploy promotes."""
    ctx = private_copy(trained[0], tmp_path / "state")
    client, name = registry(ctx), ctx.settings.model_name
    champion, candidate = champion_trained_into_the_holdout(ctx)

    verdict = validate.run(ctx, version=candidate)

    assert verdict["gates"] == {"max_rmse": "PASSED", "baseline": "PASSED", "champion": "FAILED"}
    assert verdict["reasons"] == [
        f"champion v{champion} not comparable: trained on 2013-01-01..2013-01-09 "
        "(window_train), which ends after this holdout starts (2013-01-08): its figure "
        "would come from rows it was fit on; to compare them, train and validate with "
        "--as-of 2013-02-09 or later, or set validation.mode: dry_run to let deploy promote "
        "the candidate anyway (its failed gates are then only recorded)"
    ]  # 2013-02-09: the local window_spec's 31 validation days after 2013-01-09
    assert (verdict["status"], verdict["champion_version"]) == ("FAILED", champion)
    assert math.isnan(verdict["champion_figure"])
    recorded = client.get_model_version(name, str(candidate)).tags
    assert recorded["validation_reasons"] == verdict["reasons"][0]
    assert recorded["validation_champion_window_train"] == "2013-01-01..2013-01-09"
    assert deploy.run(ctx, version=candidate)["promoted"] is False
    assert champion_version(ctx) == champion

    # The way out the reason names: a candidate trained as of that date (the same model
    # registered with its window tags, as train registers) and validated as of it is
    # compared with the champion.
    named = re.search(r"--as-of (\S+)", verdict["reasons"][0])[1]
    later = Context(ctx.settings.at(parse_as_of(named)))
    assert later.settings.windows["validation"].start == utc(2013, 1, 9)
    model = client.get_model_version(name, str(candidate))
    tags = later.settings.window_tags()
    again = int(client.create_model_version(name, model.source, model.run_id, tags).version)
    as_of_later = validate.run(later, version=again)
    assert (as_of_later["status"], as_of_later["gates"]["champion"]) == ("PASSED", "PASSED")
    assert as_of_later["champion_figure"] == pytest.approx(
        as_of_later["metrics"]["root_mean_squared_error"]
    )

    client.delete_model_version_tag(name, str(champion), "window_train")
    compared = validate.run(ctx, version=candidate)
    assert (compared["status"], compared["gates"]["champion"]) == ("PASSED", "PASSED")
    rmse = compared["metrics"]["root_mean_squared_error"]
    assert compared["champion_figure"] == pytest.approx(rmse) and 0 < rmse < 60
    unknown = client.get_model_version(name, str(candidate)).tags
    assert unknown["validation_champion_window_train"] == "unknown"

    client.set_model_version_tag(name, str(champion), "window_train", "2013-01-01..2013-01-09")
    dry = validate.run(with_mode(ctx, "dry_run"), version=candidate)
    assert (dry["status"], dry["gate_result"]) == ("PASSED", "FAILED")
    assert dry["reasons"] == verdict["reasons"]
    assert deploy.run(ctx, version=candidate)["promoted"] is True
    assert champion_version(ctx) == candidate


def test_validate_output_and_the_run_summary_are_strict_json_without_a_champion_figure(
    trained, tmp_path, monkeypatch, capsys
):
    """The champion is not comparable (:func:`champion_trained_into_the_holdout`), so
    validate's champion figure and relative degradation are NaN: the verdict validate
    prints and the summary run-all writes hold null there, and parse as strict JSON."""
    ctx = private_copy(trained[0], tmp_path / "state")
    champion, candidate = champion_trained_into_the_holdout(ctx)
    monkeypatch.setattr(entry, "context_of", lambda args: ctx)

    assert cli.validate(["--model-version", str(candidate)]) == 0
    printed = strict_json(capsys.readouterr().out)
    summary = cli.run_pipeline(ctx, ("validate",))
    path = tmp_path / "summary.json"
    assert cli.report_summary(summary, path, cli.format_summary(summary)) == 0
    written = strict_json(path.read_text(encoding="utf-8"))
    assert path.read_text(encoding="utf-8").endswith("}\n")  # a text file: its last line ends

    verdict = summary["steps"]["validate"]
    assert math.isnan(verdict["champion_figure"]) and math.isnan(verdict["relative_degradation"])
    for judged in (printed, written["steps"]["validate"]):
        assert (judged["model_version"], judged["champion_version"]) == (candidate, champion)
        assert judged["champion_figure"] is judged["relative_degradation"] is None
        assert judged["gates"]["champion"] == "FAILED"
        assert judged["reasons"] == verdict["reasons"]
        assert judged["baseline"] == pytest.approx(verdict["baseline"]) and judged["baseline"] > 0
    assert written["validation"]["metrics"] == pytest.approx(verdict["metrics"])


def test_validate_refuses_a_holdout_without_rows_naming_the_window(trained):
    """The trained state's training set holds January 2013; a validation window in March
    (another --as-of, and a version without a ``window_validation`` tag to refuse it
    first) selects no holdout row: validate's holdout is refused in one line naming the
    window, before anything is scored. Reads the shared state only."""
    ctx = trained[0]
    march = Window(utc(2013, 3, 1), utc(2013, 3, 3))
    elsewhere = replace(ctx.settings, windows={**ctx.settings.windows, "validation": march})
    untagged = ModelVersion(ctx.settings.model_name, "1", creation_timestamp=0)

    with pytest.raises(ValueError) as refused:
        validate._holdout(Context(elsewhere), untagged)

    assert str(refused.value) == (
        "windows.validation: the training set has no rows in 2013-03-01..2013-03-03: "
        "run train with the same --as-of first"
    )
