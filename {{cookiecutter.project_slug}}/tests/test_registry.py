"""Registry lookups: only "not found" means "no champion"; deploy's compare-and-set rules.

No Spark: a real local MLflow store, and fake clients for the errors a local
store cannot produce (a Unity Catalog permission error).
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion, ModelVersionTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    PERMISSION_DENIED,
    RESOURCE_DOES_NOT_EXIST,
)

from {{ cookiecutter.package_name }} import champion_move
from {{ cookiecutter.package_name }} import registry as registry_module
from {{ cookiecutter.package_name }}.config import parse_as_of
from {{ cookiecutter.package_name }}.gates import Thresholds, evaluate
from {{ cookiecutter.package_name }}.registry import get_version, version_by_alias, write_verdict
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.runtime.errors import MissingTableError
from {{ cookiecutter.package_name }}.runtime.tracking import tracking_uri
from {{ cookiecutter.package_name }}.steps import deploy, rollback, validate

from .conftest import local_settings, utc

NAME = "local.schema.model"


def denied(*args, **kwargs):
    raise MlflowException("User does not have EXECUTE on model", PERMISSION_DENIED)


def version(number: int, **tags) -> ModelVersion:
    pairs = [ModelVersionTag(key, value) for key, value in tags.items()]
    return ModelVersion(NAME, str(number), creation_timestamp=0, tags=pairs)


class FakeClient:
    """A registry whose alias lookups fail with ``alias_error``; records every write."""

    def __init__(self, versions: list[ModelVersion], alias_error=denied):
        self.versions = {v.version: v for v in versions}
        self.alias_error = alias_error
        self.writes: list[tuple] = []

    def get_model_version_by_alias(self, name, alias):
        return self.alias_error(name, alias)

    def get_model_version(self, name, number):
        return self.versions[str(number)]

    def search_model_versions(self, query):
        return list(self.versions.values())

    def set_model_version_tag(self, *args):
        self.writes.append(("tag", *args))

    def set_registered_model_alias(self, *args):
        self.writes.append(("alias", *args))


@pytest.fixture
def local_ctx(tmp_path) -> Context:
    return Context(local_settings(tmp_path))


@pytest.fixture
def store(local_ctx) -> MlflowClient:
    local_ctx.mlflow()
    uri = tracking_uri(local_ctx.settings)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_a_missing_model_or_alias_means_no_champion_on_the_local_store(store):
    assert version_by_alias(store, "local.s.absent", "champion") is None
    store.create_registered_model("local.s.present")
    assert version_by_alias(store, "local.s.present", "champion") is None
    with pytest.raises(LookupError, match="model local.s.present has no version 7"):
        get_version(store, "local.s.present", 7)


@pytest.mark.parametrize(
    "error",
    [
        MlflowException("Alias champion not found", RESOURCE_DOES_NOT_EXIST),  # Unity Catalog
        MlflowException("Registered model alias champion not found.", INVALID_PARAMETER_VALUE),
    ],
)
def test_not_found_answers_mean_no_champion(error):
    def raise_(*args):
        raise error

    assert version_by_alias(FakeClient([], raise_), NAME, "champion") is None


@pytest.mark.parametrize(
    "error",
    [
        MlflowException("User does not have EXECUTE on model", PERMISSION_DENIED),
        MlflowException("Invalid alias name 'v1'", INVALID_PARAMETER_VALUE),
        MlflowException("Connection reset by peer"),
    ],
)
def test_any_other_registry_error_propagates(error):
    def raise_(*args):
        raise error

    with pytest.raises(MlflowException) as caught:
        version_by_alias(FakeClient([], raise_), NAME, "champion")
    assert caught.value is error


def test_validate_fails_on_a_permission_error_instead_of_skipping_the_champion(
    local_ctx, monkeypatch
):
    fake = FakeClient([version(1), version(2)])
    monkeypatch.setattr(validate, "client", lambda: fake)
    with pytest.raises(MlflowException, match="does not have EXECUTE"):
        validate.run(local_ctx, version=2)
    assert fake.writes == []  # no verdict, no alias


def test_deploy_and_rollback_fail_on_a_permission_error_and_move_nothing(local_ctx, monkeypatch):
    fake = FakeClient([version(2, validation_status="PASSED", validation_champion_version="1")])
    monkeypatch.setattr(deploy, "client", lambda: fake)
    monkeypatch.setattr(rollback, "client", lambda: fake)
    with pytest.raises(MlflowException, match="does not have EXECUTE"):
        deploy.run(local_ctx, version=2)
    with pytest.raises(MlflowException, match="does not have EXECUTE"):
        rollback.run(local_ctx)
    assert fake.writes == []


PASSED_AGAINST_1 = {"validation_status": "PASSED", "validation_champion_version": "1"}


@pytest.mark.parametrize(
    ("candidate", "champion", "reason"),
    [
        (version(2, **PASSED_AGAINST_1), version(1), None),
        (version(2, validation_status="PASSED", validation_champion_version="none"), None, None),
        (
            version(2, **PASSED_AGAINST_1),
            version(3),
            "v2 was validated against v1, but the champion is v3: "
            "the champion changed since validation; validate again",
        ),
        (
            version(2, validation_status="PASSED", validation_champion_version="none"),
            version(1),
            "v2 was validated against no champion, but the champion is v1: "
            "the champion changed since validation; validate again",
        ),
        (
            version(2, **PASSED_AGAINST_1),
            None,
            "v2 was validated against v1, but there is no champion: "
            "the champion changed since validation; validate again",
        ),
        (version(2, **PASSED_AGAINST_1), version(2), "v2 is already the champion"),
        (
            version(2, validation_status="FAILED", validation_champion_version="1"),
            version(1),
            "v2 has validation_status FAILED",
        ),
        (
            version(2),
            version(1),
            "v2 has validation_status unset "
            "(never validated, or its last validation did not finish: validate again)",
        ),
        (
            version(2, rolled_back_to="1", **PASSED_AGAINST_1),
            version(1),
            "v2 was rolled back (to v1): validate a new version, or move the alias by hand",
        ),
    ],
)
def test_deploy_promotes_only_a_passed_version_over_the_champion_it_was_compared_with(
    candidate, champion, reason
):
    assert deploy.refusal(candidate, champion, "validate") == reason


def test_deploy_compares_int_versions_with_their_string_tags():
    """MLflow's SQLite registry returns versions as ints; tags always come back as strings."""
    tags = [ModelVersionTag(key, value) for key, value in PASSED_AGAINST_1.items()]
    candidate = ModelVersion(NAME, 2, creation_timestamp=0, tags=tags)
    assert (
        deploy.refusal(candidate, ModelVersion(NAME, 1, creation_timestamp=0), "validate") is None
    )
    same = ModelVersion(NAME, 2, creation_timestamp=0)
    assert deploy.refusal(candidate, same, "validate") == "v2 is already the champion"


def test_model_version_must_be_a_positive_integer(capsys):
    from {{ cookiecutter.package_name }} import cli

    too_large = str(2**63)  # beyond a registry's 64-bit version numbers
    for bad in ("abc", "0", "-1", "", too_large, "²", "1²"):  # digits to str.isdigit only
        with pytest.raises(SystemExit) as code:
            cli.validate(["--model-version", bad])
        assert code.value.code == 2
        assert "--model-version: must be a positive integer up to 2**63 - 1 (a model version)" in (
            capsys.readouterr().err
        )
    with pytest.raises(argparse.ArgumentTypeError):
        cli._model_version("١")  # ARABIC-INDIC DIGIT ONE: int() reads it as 1
    assert cli._model_version(str(2**63 - 1)) == 2**63 - 1
    assert cli._model_version(" 7 ") == 7


def test_deploy_promotes_on_the_local_store_only_over_the_champion_validated_against(
    local_ctx, store
):
    name = local_ctx.settings.model_name
    store.create_registered_model(name)
    for _ in range(3):
        store.create_model_version(name, source="file:///nowhere", run_id=None)
    store.set_registered_model_alias(name, "champion", "1")
    for number, against in (("2", "1"), ("3", "1")):
        store.set_model_version_tag(name, number, "validation_status", "PASSED")
        store.set_model_version_tag(name, number, "validation_champion_version", against)

    first = deploy.run(local_ctx, version=2)
    second = deploy.run(local_ctx, version=3)  # validated against v1, but v2 is champion now

    assert (first["promoted"], first["champion_version"]) == (True, 2)
    assert store.get_model_version(name, "2").tags["previous_champion"] == "1"
    assert second["promoted"] is False and second["champion_version"] == 2
    assert second["reason"].startswith("v3 was validated against v1, but the champion is v2")
    assert int(store.get_model_version_by_alias(name, "champion").version) == 2


def promote_v2(ctx: Context) -> dict:
    """The deploy step promoting v2 (its result)."""
    return deploy.run(ctx, version=2)


@pytest.mark.parametrize(
    "step, move, earlier, moved_to, kept",
    [(deploy, promote_v2, (), 2, 1), (rollback, rollback.run, (promote_v2,), 1, 2)],
    ids=["deploy", "rollback"],
)
def test_a_move_stopped_by_ctrl_c_after_the_alias_moved_is_put_back_and_a_rerun_makes_it(
    local_ctx, store, monkeypatch, step, move, earlier, moved_to, kept
):
    """Ctrl-C while what follows the alias is called (a Databricks endpoint update takes
    seconds), once the alias is on ``moved_to``: the alias (on ``kept`` before) and the
    tags are put back, so the rerun makes the same move (a rollback goes to the same
    version, not one further back)."""
    name = local_ctx.settings.model_name
    store.create_registered_model(name)
    for _ in range(2):
        store.create_model_version(name, source="file:///nowhere", run_id=None)
    store.set_registered_model_alias(name, "champion", "1")
    store.set_model_version_tag(name, "2", "validation_status", "PASSED")
    store.set_model_version_tag(name, "2", "validation_champion_version", "1")
    for done in earlier:
        done(local_ctx)
    assert int(store.get_model_version_by_alias(name, "champion").version) == kept
    tags = {v: store.get_model_version(name, v).tags for v in ("1", "2")}
    followed_on = []

    def interrupted(ctx):
        followed_on.append(int(store.get_model_version_by_alias(name, "champion").version))
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(step, "follow_champion", interrupted)
        with pytest.raises(KeyboardInterrupt):
            move(local_ctx)
    assert followed_on == [moved_to]
    assert int(store.get_model_version_by_alias(name, "champion").version) == kept
    assert {v: store.get_model_version(name, v).tags for v in ("1", "2")} == tags
    assert move(local_ctx)["champion_version"] == moved_to
    assert int(store.get_model_version_by_alias(name, "champion").version) == moved_to


def test_nested_moves_put_the_alias_back_once_and_keep_the_cause(local_ctx, store, monkeypatch):
    """The rag steps wrap the shared ones: the inner block restores, the outer re-raises."""
    name = local_ctx.settings.model_name
    store.create_registered_model(name)
    for _ in range(2):
        store.create_model_version(name, source="file:///nowhere", run_id=None)
    store.set_registered_model_alias(name, "champion", "1")
    champion = version_by_alias(store, name, "champion")
    followed = []

    def unreachable_endpoint(ctx):
        followed.append(ctx)
        raise ConnectionError("endpoint unreachable")

    monkeypatch.setattr(champion_move, "follow_champion", unreachable_endpoint)
    cause = KeyError("the first error's own cause")
    outer = champion_move.moved_together(local_ctx, champion, [champion])
    inner = champion_move.moved_together(local_ctx, champion, [champion])
    with pytest.raises(ValueError, match="move failed") as failed, outer, inner:
        store.set_registered_model_alias(name, "champion", "2")
        store.set_model_version_tag(name, "1", "rolled_back_to", "2")
        raise ValueError("move failed") from cause
    assert len(followed) == 1
    assert failed.value.__cause__ is cause
    assert failed.value.__notes__ == [
        "the champion alias is back on v1, but what follows it (e.g. the serving endpoint) "
        "could not be brought back: endpoint unreachable"
    ]
    assert int(store.get_model_version_by_alias(name, "champion").version) == 1
    assert "rolled_back_to" not in store.get_model_version(name, "1").tags

    # The registry lost too: the note says so, the follower is not called, the cause stays.
    monkeypatch.setattr(champion_move, "_restore", lambda *args: unreachable_endpoint(None))
    followed.clear()
    block = champion_move.moved_together(local_ctx, champion, [champion])
    with pytest.raises(ValueError, match="move failed") as failed, block:
        raise ValueError("move failed") from cause
    assert failed.value.__cause__ is cause
    assert failed.value.__notes__ == [
        "putting the champion alias back failed too: endpoint unreachable"
    ]
    assert len(followed) == 1  # the restore's own call, not a follower's


def scored_as(monkeypatch, rmse: float, mae: float, baseline: float, champion_rmse: float):
    """Make validate score without its holdout (reading the training set needs Spark): the
    candidate's RMSE and MAE, the baseline's and the champion's RMSE, and the gates
    :func:`evaluate` gives them."""

    def score(ctx, holdout, train_labels, candidate, champion, thresholds):
        against = champion_rmse if champion is not None else None
        gates = evaluate(
            thresholds, rmse, baseline, against, champion.version if champion else None
        )
        figures = {"baseline_root_mean_squared_error": baseline}
        if champion is not None:
            figures["champion_root_mean_squared_error"] = champion_rmse
        return {"root_mean_squared_error": rmse, "mean_absolute_error": mae}, figures, gates

    monkeypatch.setattr(validate, "_holdout", lambda ctx, candidate: (None, None))
    monkeypatch.setattr(validate, "_score", score)


def with_validation(ctx: Context, **changes) -> Context:
    """``ctx`` with ``changes`` to its ``validation`` settings (same store)."""
    return Context(replace(ctx.settings, validation={**ctx.settings.validation, **changes}))


@pytest.fixture
def versions(local_ctx, store) -> str:
    """The model of ``local_ctx`` with versions 1 (the champion) and 2, each tagged with the
    windows of ``local_ctx`` as train tags the versions it registers; returns its name."""
    name = local_ctx.settings.model_name
    store.create_registered_model(name)
    windows = local_ctx.settings.window_tags()
    for _ in range(2):
        store.create_model_version(name, source="file:///nowhere", run_id=None, tags=windows)
    store.set_registered_model_alias(name, "champion", "1")
    return name


def validation_tags(store, name: str, number: int) -> dict[str, str]:
    return {
        k: v
        for k, v in store.get_model_version(name, str(number)).tags.items()
        if k.startswith("validation_")
    }


def test_validating_a_version_again_leaves_no_gate_or_figure_of_the_earlier_verdict(
    local_ctx, store, versions, monkeypatch
):
    """v2 fails against champion v1; the alias is then removed by hand and v2 validated
    again with validation disabled: its tags are that second verdict and nothing else."""
    scored_as(monkeypatch, 30.0, 20.0, 40.0, 25.0)
    first = validate.run(local_ctx, version=2)
    assert first["gates"] == {"max_rmse": "PASSED", "baseline": "PASSED", "champion": "FAILED"}
    before = validation_tags(store, versions, 2)
    assert before["validation_gate_champion"] == "FAILED"
    assert before["validation_mean_absolute_error"] == "20"
    store.delete_registered_model_alias(versions, "champion")

    second = validate.run(with_validation(local_ctx, mode="disabled"), version=2)

    assert validation_tags(store, versions, 2) == {
        "validation_status": "PASSED",
        "validation_gate_result": "SKIPPED",
        "validation_mode": "disabled",
        "validation_reasons": "none",
        "validation_run_id": second["run_id"],
        "validation_champion_version": "none",
        "validation_max_root_mean_squared_error": "60",
        "validation_min_improvement_over_baseline": "0.05",
        "validation_max_relative_degradation": "0.05",
    }


class CutOff(Exception):
    """The registry call that fails midway through writing a verdict."""


def test_a_verdict_cut_off_midway_shows_no_status_until_validate_runs_again(
    local_ctx, store, versions, monkeypatch
):
    """v2 fails the champion gate; the degradation allowed is raised and v2 validated again,
    but the registry fails after some of the new tags: v2 shows no verdict, deploy refuses
    it, and the rerun writes the whole new one."""
    scored_as(monkeypatch, 30.0, 20.0, 40.0, 25.0)
    assert validate.run(local_ctx, version=2)["status"] == "FAILED"
    looser = with_validation(local_ctx, max_relative_degradation=0.5)
    real = MlflowClient.set_model_version_tag

    def fails_on_the_champion_gate(self, name, version, key, value):
        if key == "validation_gate_champion":
            raise CutOff(key)
        return real(self, name, version, key, value)

    monkeypatch.setattr(MlflowClient, "set_model_version_tag", fails_on_the_champion_gate)
    with pytest.raises(CutOff):
        validate.run(looser, version=2)

    tags = store.get_model_version(versions, "2").tags
    assert "validation_status" not in tags
    assert tags["validation_gate_champion"] == "FAILED"  # the earlier verdict's, not shown
    champion = version_by_alias(store, versions, "champion")
    refused = deploy.refusal(store.get_model_version(versions, "2"), champion, "validate")
    assert refused == (
        "v2 has validation_status unset "
        "(never validated, or its last validation did not finish: validate again)"
    )

    monkeypatch.setattr(MlflowClient, "set_model_version_tag", real)
    rerun = validate.run(looser, version=2)
    tags = validation_tags(store, versions, 2)
    assert (tags["validation_status"], tags["validation_gate_champion"]) == ("PASSED", "PASSED")
    assert (tags["validation_reasons"], tags["validation_run_id"]) == ("none", rerun["run_id"])
    assert deploy.run(looser, version=2)["promoted"] is True


def test_a_verdict_outside_the_validation_tags_or_without_a_status_is_refused_unwritten(
    store, versions
):
    for tags in ({"validation_status": "PASSED", "promoted_at": "now"}, {"validation_mode": "x"}):
        with pytest.raises(ValueError, match="must all start with 'validation_' and include"):
            write_verdict(store, versions, 2, tags)
    assert validation_tags(store, versions, 2) == {}


NOT_A_VERSION = "must be a version number (a positive integer) or 'none'"


@pytest.mark.parametrize(
    ("tag", "rule"),
    [
        *[(tag, NOT_A_VERSION) for tag in ("v1", "1.0", " 1", "0", "-1")],
        # the champion's own number: the alias would move nowhere, and the serving
        # champion be marked rolled back (to itself), which deploy never promotes again
        ("2", "the champion itself"),
    ],
)
def test_rollback_refuses_a_previous_champion_that_is_not_an_earlier_version(
    local_ctx, store, versions, tag, rule
):
    store.set_registered_model_alias(versions, "champion", "2")
    store.set_model_version_tag(versions, "2", "previous_champion", tag)
    before = {n: store.get_model_version(versions, n).tags for n in ("1", "2")}

    with pytest.raises(ValueError) as refused:
        rollback.run(local_ctx)

    assert str(refused.value) == (
        f"model {versions} v2: tag previous_champion is {tag!r}, {rule}; nothing was rolled back"
    )
    assert int(store.get_model_version_by_alias(versions, "champion").version) == 2
    assert {n: store.get_model_version(versions, n).tags for n in ("1", "2")} == before


def test_validate_refuses_a_version_of_other_windows_before_it_starts_a_run(
    local_ctx, store, versions
):
    """v2 was trained for another validation window than the settings' (another --as-of):
    validate refuses it in one line before it logs anything, so a retry with the wrong
    as-of leaves no failed ``validate-v2`` run behind, and v2 no verdict. Champion v1
    trained into the holdout does not change that: the candidate's window is checked
    first, so the message is the one that says what to pass."""
    store.set_model_version_tag(versions, "2", "window_validation", "2000-01-01..2000-01-03")
    store.set_model_version_tag(versions, "1", "window_train", "2013-01-02..2013-10-02")
    holdout = local_ctx.settings.windows["validation"].label()

    for _ in range(2):
        with pytest.raises(ValueError) as refused:
            validate.run(local_ctx, version=2)
        assert str(refused.value) == (
            "model version 2: trained with validation window 2000-01-01..2000-01-03, but the "
            f"holdout here is {holdout} (rerun train with the same --as-of, or pass that "
            "as-of to validate)"
        )

    assert_nothing_logged(local_ctx, store, versions)


def assert_nothing_logged(ctx: Context, store, name: str) -> None:
    """No run in the experiment of ``ctx``, no verdict on v2 of model ``name``."""
    experiment = store.get_experiment_by_name(ctx.settings.experiment)
    assert store.search_runs([experiment.experiment_id]) == []
    assert validation_tags(store, name, 2) == {}


def test_validate_on_an_empty_registry_says_to_run_train_first(local_ctx, store):
    """No version registered (train never ran): validate without ``--model-version`` has
    no candidate and names the step that registers one, before it logs anything."""
    with pytest.raises(LookupError) as refused:
        validate.run(local_ctx)
    assert str(refused.value) == (
        f"model {local_ctx.settings.model_name} has no registered version: run the train step first"
    )
    experiment = store.get_experiment_by_name(local_ctx.settings.experiment)
    assert store.search_runs([experiment.experiment_id]) == []


def test_validate_without_a_training_set_refuses_before_it_starts_a_run(local_ctx, store, versions):
    """No training set here (train never ran in this store's tables): validate refuses v2
    naming the step that writes it, before it logs anything."""
    with pytest.raises(MissingTableError, match="training_set.*the train step"):
        validate.run(local_ctx, version=2)
    assert_nothing_logged(local_ctx, store, versions)


def test_a_champion_trained_into_the_holdout_is_not_comparable_and_not_loaded(
    local_ctx, store, versions
):
    """Champion v1 trained up to 2013-10-02 (a later --as-of) was fit on the first day of
    the local holdout (from 2013-10-01): it is not scored, and why names its training
    window and the holdout's start. Its source does not exist, so loading it would fail:
    the figure is NaN without the model being loaded."""
    store.set_model_version_tag(versions, "1", "window_train", "2013-01-02..2013-10-02")
    champion = store.get_model_version(versions, "1")
    objective = Thresholds.from_settings(local_ctx.settings.validation).objective

    figure, why = validate._champion_figure(local_ctx, champion, None, objective)

    assert math.isnan(figure)
    assert why == (
        "trained on 2013-01-02..2013-10-02 (window_train), which ends after this holdout "
        "starts (2013-10-01): its figure would come from rows it was fit on; to compare "
        "them, train and validate with --as-of 2013-11-02 or later, or set validation.mode: "
        "dry_run to let deploy promote the candidate anyway (its failed gates are then only "
        "recorded)"
    )
    # The as-of it names is the first whose holdout starts where the champion's training
    # window ends (validate's window_validation check wants train's as-of, hence both).
    named = parse_as_of(re.search(r"--as-of (\S+)", why)[1])
    trained_until = utc(2013, 10, 2)
    assert local_ctx.settings.at(named).windows["validation"].start == trained_until
    day_before = local_ctx.settings.at(named - timedelta(days=1))
    assert day_before.windows["validation"].start < trained_until
    # Labels that mature 2 days after the flight push that as-of 2 days later.
    spec = {**local_ctx.settings.window_spec, "label_maturity_days": 2}
    matured = replace(local_ctx.settings, window_spec=spec).at(named)
    reason = validate._fit_on_holdout(champion, matured)
    later = parse_as_of(re.search(r"--as-of (\S+)", reason)[1])
    assert later - named == timedelta(days=2)
    assert matured.at(later).windows["validation"].start == trained_until


@pytest.mark.parametrize(
    ("tag", "recorded"),
    [
        ("2013-01-01..2013-10-01", "2013-01-01..2013-10-01"),  # ends where the holdout starts
        (None, "unknown"),
        ("2013-01-01/2013-10-02", "unknown"),
    ],
    ids=["up-to-the-holdout", "untagged", "unreadable-tag"],
)
def test_a_champion_up_to_the_holdout_or_of_unknown_window_is_compared_and_recorded(
    local_ctx, store, versions, monkeypatch, tag, recorded
):
    """Champion v1 trained up to the local holdout's start (2013-10-01, the end is
    exclusive), or without a readable window_train tag, is comparable (nothing tells it
    was fit on the holdout; an inflated figure would only raise v2's bar): the rule gives
    no reason, and validate hands the champion to the scoring and records its training
    window on v2's verdict, or ``unknown``. (The scoring is a stand-in here; the figure of
    a real champion is in tests/test_promotion.py.)"""
    assert store.get_model_version(versions, "1").tags["window_train"] == "2013-01-01..2013-10-01"
    if tag is None:
        store.delete_model_version_tag(versions, "1", "window_train")
    else:
        store.set_model_version_tag(versions, "1", "window_train", tag)
    champion = store.get_model_version(versions, "1")
    assert validate._fit_on_holdout(champion, local_ctx.settings) is None
    scored_as(monkeypatch, 30.0, 20.0, 40.0, 25.0)

    verdict = validate.run(local_ctx, version=2)

    assert (verdict["champion_version"], verdict["champion_rmse"]) == (1, 25.0)
    assert validation_tags(store, versions, 2)["validation_champion_window_train"] == recorded


def test_with_validation_disabled_a_champion_trained_into_the_holdout_changes_nothing(
    local_ctx, store, versions
):
    """With ``validation.mode: disabled`` nothing is scored, so a champion whose training
    window reaches into the holdout (2013-10-02 > 2013-10-01) fails no gate: the gate
    result is SKIPPED and the status PASSED, as without the overlap."""
    store.set_model_version_tag(versions, "1", "window_train", "2013-01-02..2013-10-02")

    skipped = validate.run(with_validation(local_ctx, mode="disabled"), version=2)

    assert (skipped["status"], skipped["gate_result"], skipped["reasons"]) == (
        "PASSED",
        "SKIPPED",
        [],
    )
    assert skipped["champion_version"] == 1


def test_a_summary_that_cannot_read_the_registry_names_no_champion_and_warns(
    tmp_path, monkeypatch, caplog
):
    """run-all's summary after a rejection reads the champion from the registry: a registry
    it cannot read then gives None and a warning naming the error, not a failed run."""
    ctx = Context(local_settings(tmp_path))

    def unavailable(ctx):
        raise MlflowException("API request to endpoint failed: 503 Service Unavailable")

    monkeypatch.setattr(registry_module, "current_champion", unavailable)
    with caplog.at_level("WARNING", logger=registry_module.__name__):
        assert registry_module.champion_after_run(ctx, {"validate": {}}) is None
    assert caplog.messages == [
        "summary: champion version not read: "
        "API request to endpoint failed: 503 Service Unavailable"
    ]
    # Deploy ran: its result says, and the registry is not read.
    assert registry_module.champion_after_run(ctx, {"deploy": {"champion_version": 4}}) == 4
