"""The rules of the monitor's figures and their kinds, on frames built by hand."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.config import load_settings
from {{ cookiecutter.package_name }}.data_profile import build_profile
from {{ cookiecutter.package_name }}.monitoring.baseline import Baseline
from {{ cookiecutter.package_name }}.monitoring.figures import (
    column_figures,
    count_figures,
    source_count_figure,
)
from {{ cookiecutter.package_name }}.monitoring.settings import monitoring_settings
from {{ cookiecutter.package_name }}.steps.monitor import group_figures, source_figure

from .conftest import CONTRACT, refusal, utc

CONFIG = monitoring_settings(load_settings("local"))  # min_rows 100, null share + 0.1


def training(rows: int = 1_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"temp": rng.normal(40, 8, rows), "origin": ["EWR", "JFK"] * (rows // 2)})


def by(figures: list[dict]) -> dict:
    return {(f["column"], f["metric"]): f for f in figures}


PROFILE = build_profile(training(), np.zeros(1_000))


def test_a_window_like_the_training_data_has_no_violation():
    window = training(seed=1)  # another sample of the same distributions
    figures, comparisons = column_figures(PROFILE, window, ["temp", "origin"], CONFIG)
    assert [f for f in figures if f["violation"]] == []
    assert set(comparisons) == {"temp", "origin"}
    assert by(figures)[("temp", "psi")]["kind"] == "drift"
    assert by(figures)[("temp", "psi")]["value"] > 0  # not the training sample itself


def test_fewer_values_than_min_rows_is_insufficient_data_with_a_null_value():
    window = training().head(99)
    figures, comparisons = column_figures(PROFILE, window, ["temp", "origin"], CONFIG)
    table = by(figures)
    for key in [("temp", "psi"), ("temp", "ks_statistic"), ("origin", "psi")]:
        assert table[key]["value"] is None and table[key]["violation"]
        assert table[key]["kind"] == "insufficient_data"
    assert ("origin", "ks_statistic") not in table  # not defined for categories
    assert table[("temp", "values")]["value"] == 99 and comparisons == {}
    # The same on the profile's side: a version trained on 99 rows, a window of 1,000.
    sparse = build_profile(window, np.zeros(len(window)))
    figures, comparisons = column_figures(sparse, training(seed=1), ["temp", "origin"], CONFIG)
    assert {(f["column"], f["metric"]) for f in figures if f["kind"] == "insufficient_data"} == {
        ("temp", "psi"),
        ("temp", "ks_statistic"),
        ("origin", "psi"),
    }
    assert by(figures)[("temp", "psi")]["value"] is None and comparisons == {}


def test_an_empty_window_and_a_missing_profile_give_statuses_not_errors():
    empty = training().head(0)
    figures, _ = column_figures(PROFILE, empty, ["temp"], CONFIG)
    assert {f["kind"] for f in figures if f["violation"]} == {"insufficient_data"}
    figures, _ = column_figures(None, training(), ["temp"], CONFIG)
    assert by(figures)[("temp", "psi")]["kind"] == "insufficient_data"


def test_a_rising_null_share_is_data_quality():
    window = training()
    window.loc[: len(window) // 2, "temp"] = np.nan  # half the values missing, none in training
    figures, _ = column_figures(PROFILE, window, ["temp"], CONFIG)
    nulls = by(figures)[("temp", "null_fraction")]
    assert nulls["violation"] and nulls["kind"] == "data_quality"
    assert nulls["value"] == pytest.approx(0.501)  # rows 0 to 500 of 1000
    assert nulls["threshold"] == 0.1
    assert not by(figures)[("temp", "psi")]["violation"]  # the values left are as before


def test_rows_per_day_rule_only_for_named_sources():
    few = source_count_figure(150, days=2.0, min_rows_per_day=100)
    assert few["violation"] and few["kind"] == "data_quality" and few["threshold"] == 200
    assert few["value"] == 150
    enough = source_count_figure(200, days=2.0, min_rows_per_day=100)
    assert not enough["violation"] and enough["kind"] == "data_quality"
    unnamed = source_count_figure(0, days=2.0, min_rows_per_day=None)
    assert not unnamed["violation"] and unnamed["kind"] is None and unnamed["threshold"] is None


def test_the_source_wide_count_takes_the_rule_of_its_source_from_the_settings():
    """steps/monitor.source_figure: conf/config.yml sets 100 rows a day for ``batch`` only."""
    assert CONFIG.min_rows_per_day == {"batch": 100}
    batch = source_figure("batch", 150, CONFIG, 2.0)
    assert (batch["source"], batch["model_version"], batch["column"]) == ("batch", "*", "*")
    assert (batch["value"], batch["threshold"], batch["violation"]) == (150, 200, True)
    online = source_figure("online", 0, CONFIG, 2.0)
    assert (online["threshold"], online["kind"], online["violation"]) == (None, None, False)


def test_a_versions_counts_carry_no_rule():
    """The rows-per-day rule is the source's (source_count_figure): a version's own count
    is context, whatever its size."""
    (rows, base) = count_figures(0, PROFILE)
    assert (rows["metric"], rows["value"], rows["threshold"]) == ("row_count", 0, None)
    assert not rows["violation"] and rows["kind"] is None
    assert (base["metric"], base["value"]) == ("baseline_row_count", 1_000)
    (_, unknown) = count_figures(5, None)
    assert unknown["value"] is None


def test_the_monitoring_section_is_typed_when_the_settings_load(tmp_path):
    text = "monitoring:\n  psi_threshold: '0.2'\n  psi_treshold: 0.3\n"
    assert refusal(tmp_path, text, "prod") == (
        "settings of environment 'prod': monitoring.psi_threshold: Input should be a valid "
        "number (got '0.2')"
    )
    # NaN would flag no drift at all (no PSI is above it); YAML reads 1e400 as infinity.
    for text, value in (("psi_threshold: .nan", "nan"), ("max_mae_increase: 1e400", "inf")):
        key = text.split(":")[0]
        assert refusal(tmp_path, f"monitoring:\n  {text}\n", "prod") == (
            f"settings of environment 'prod': monitoring.{key}: Input should be a finite "
            f"number (got {value})"
        )
    # The ranges are checked at load too, so no step writes before monitor refuses them.
    for text, rule in (
        ("ks_statistic_threshold: 3", "ks_statistic_threshold: must be between 0 and 1, got 3"),
        ("min_rows_per_day: {batch: -1}", "min_rows_per_day.batch: must be at least 0, got -1"),
        (
            "min_rows_per_day: {bacth: 10}",
            "min_rows_per_day.bacth: unknown key (did you mean batch?)",
        ),
    ):
        assert refusal(tmp_path, f"monitoring:\n  {text}\n", "prod") == (
            f"settings of environment 'prod': monitoring.{rule}"
        )
    # A source name close to none (a rule on it would never apply) is named with the known ones.
    assert refusal(tmp_path, "monitoring:\n  min_rows_per_day: {kiosk: 10}\n", "prod").startswith(
        "settings of environment 'prod': monitoring.min_rows_per_day.kiosk: unknown key (not a "
        "prediction source of this project: batch"
    )
    assert refusal(tmp_path, "monitoring:\n  psi_treshold: 0.3\n", "prod") == (
        "settings of environment 'prod': monitoring.psi_treshold: unknown key (did you mean "
        "psi_threshold?)"
    )


BINARY = replace(
    load_settings("local"),
    contract=CONTRACT.model_copy(
        update={"problem_type": "binary_classification", "decision_threshold": 0.5}
    ),
)


def _scored(labels: list[int], probabilities: list[float]) -> pd.DataFrame:
    """Labelled predictions on two UTC days (the first half of the rows on Jan 1)."""
    half = len(labels) // 2
    days = [utc(2013, 1, 1, 12)] * half + [utc(2013, 1, 2, 12)] * (len(labels) - half)
    contract = BINARY.contract
    return pd.DataFrame(
        {"prediction": probabilities, contract.label: labels, contract.event_timestamp: days}
    )


def _window_error(settings, rows: pd.DataFrame, validation_mae: float | None = None) -> dict:
    baseline = Baseline("1", None, validation_mae)
    figures, _ = group_figures("batch", "1", rows, baseline, [], CONFIG, settings)
    return {f["metric"]: f for f in figures if f["column"] == "prediction" and f["day"] is None}


@pytest.mark.parametrize(
    ("probabilities", "auc", "mae"),
    [
        ([0.1, 0.2, 0.7, 0.9], 1.0, (0.1 + 0.2 + 0.3 + 0.1) / 4),  # positives ranked first
        ([0.9, 0.7, 0.2, 0.1], 0.0, (0.9 + 0.7 + 0.8 + 0.9) / 4),  # ranked last
        ([0.2, 0.6, 0.4, 0.8], 0.75, (0.2 + 0.6 + 0.6 + 0.2) / 4),  # 3 of 4 pairs in order
    ],
)
def test_the_monitor_figures_of_a_binary_contract_on_hand_worked_cases(probabilities, auc, mae):
    labels = [0, 0, 1, 1]
    window = _window_error(BINARY, _scored(labels, probabilities), validation_mae=0.2)
    assert window["roc_auc"]["value"] == pytest.approx(auc)
    assert window["roc_auc"]["kind"] is None and not window["roc_auc"]["violation"]
    assert window["mae"]["value"] == pytest.approx(mae)
    brier = sum((p - y) ** 2 for p, y in zip(probabilities, labels, strict=True)) / 4
    assert window["rmse"]["value"] == pytest.approx(math.sqrt(brier))
    # the MAE rule: the version's validation MAE 0.2 plus max_mae_increase (25 %)
    assert window["mae"]["threshold"] == pytest.approx(0.25)
    assert window["mae"]["violation"] is (mae > 0.25)
    assert window["labelled_rows"]["value"] == 4


def test_one_class_in_the_window_gives_no_roc_auc_and_a_regression_contract_none():
    one_class = _window_error(BINARY, _scored([1, 1, 1, 1], [0.9, 0.8, 0.6, 0.7]))
    assert "roc_auc" not in one_class
    assert one_class["mae"]["value"] == pytest.approx(0.25)
    regression = replace(BINARY, contract=CONTRACT)
    assert "roc_auc" not in _window_error(regression, _scored([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9]))


def test_rows_whose_label_has_not_arrived_yet_are_left_out_of_the_error():
    # Two of four flights without their arrival delay yet: the MAE and RMSE are over the
    # other two, |12 - 10| and |17 - 20|, against the limit 1.6 * 1.25 = 2.
    rows = _scored([10.0, np.nan, 20.0, np.nan], [12.0, 50.0, 17.0, 80.0])
    window = _window_error(load_settings("local"), rows, validation_mae=1.6)
    assert window["labelled_rows"]["value"] == 2
    assert window["mae"]["value"] == pytest.approx(2.5) and window["mae"]["violation"]
    assert window["rmse"]["value"] == pytest.approx(math.sqrt((4 + 9) / 2))
