"""Settings load per environment and refuse bad values with the key named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }} import cli, config, settings_file
from {{ cookiecutter.package_name }}.config import ConfigError, load_settings, parse_as_of
from {{ cookiecutter.package_name }}.settings_file import LOCAL_ROOT_VAR, load_raw
from {{ cookiecutter.package_name }}.settings_types import owned_sections

from .conftest import refusal

ROOT = Path(__file__).resolve().parents[1]
DATA_SLICE = ROOT / "ci" / "data-slice.yml"


def day(text: str) -> datetime:
    """Midnight UTC of the ISO date ``text``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def spans(settings) -> dict[str, tuple[str, str]]:
    """The windows of ``settings`` as (start, end) ISO dates."""
    return {
        key: (f"{w.start:%Y-%m-%d}", f"{w.end:%Y-%m-%d}") for key, w in settings.windows.items()
    }


def test_local_is_the_default_environment(monkeypatch):
    monkeypatch.delenv("MLOPS_ENV", raising=False)
    settings = load_settings()
    assert settings.env == "local"
    assert settings.runtime == "local"
    assert settings.table("training_set") == f"local.{settings.schema}.training_set"
    assert settings.windows["train"].end <= settings.windows["validation"].start


def test_the_demo_pins_its_as_of_dates_to_the_2013_windows():
    settings = load_settings("local")
    assert (settings.training_as_of, settings.as_of) == (day("2013-11-01"), day("2014-01-01"))
    assert spans(settings) == {
        "train": ("2013-01-01", "2013-10-01"),
        "validation": ("2013-10-01", "2013-11-01"),
        "scoring": ("2013-11-01", "2014-01-01"),
    }
    assert settings.windows["train"].start.tzinfo is UTC


def test_the_ci_slice_and_the_test_target_pin_the_same_windows_and_enforce_the_gates():
    expected = {
        "train": ("2013-01-01", "2013-03-01"),
        "validation": ("2013-03-01", "2013-03-16"),
        "scoring": ("2013-03-16", "2013-04-01"),
    }
    ci = load_settings("local", DATA_SLICE)
    test_target = load_settings("test")
    assert spans(ci) == spans(test_target) == expected
    assert ci.source == test_target.source == {"start": "2013-01-01", "end": "2013-04-01"}
    assert ci.as_of == test_target.as_of == day("2013-04-01")
    assert ci.training_as_of == test_target.training_as_of == day("2013-03-16")
    # The gates are enforced there: a model must beat the mean baseline by 5 %.
    for gated in (ci, test_target):
        assert (gated.validation["mode"], gated.validation["fail_on_rejection"]) == (
            "enabled",
            True,
        )
        assert gated.validation["min_improvement_over_baseline"] == 0.05


def test_the_test_target_runs_its_jobs_as_of_its_settings_dates_on_the_ci_slice(tmp_path):
    """The jobs pass the bundle variables ``as_of`` and ``training_as_of`` as ``--as-of``,
    which wins over the settings' dates: the `test` target of databricks.yml must pin the
    dates of the `test` settings, whose slice of the source is the CI run's. Step 3 of
    "Replace the example" moves all three; this test fails while one lags."""
    assert lagging_test_target() == []
    moved = tmp_path / "moved.yml"
    moved.write_text("windows:\n  as_of: 2013-05-01\nsource:\n  start: 2013-02-01\n")
    assert lagging_test_target(moved) == ["dates", "slice"]


def lagging_test_target(override: Path | None = None) -> list[str]:
    """What of the `test` settings (with the YAML file ``override`` merged) the test
    target of databricks.yml (``dates``: as_of, training_as_of) or ci/data-slice.yml
    (``slice``: source) pins otherwise."""
    bundle = yaml.safe_load((ROOT / "databricks.yml").read_text(encoding="utf-8"))
    pinned = bundle["targets"]["test"]["variables"]
    test_target = load_settings("test", override)
    lags = []
    if (day(pinned["training_as_of"]), day(pinned["as_of"])) != (
        test_target.training_as_of,
        test_target.as_of,
    ):
        lags.append("dates")
    if test_target.source != load_settings("local", DATA_SLICE).source:
        lags.append("slice")
    return lags


def test_as_of_moves_every_window_training_included():
    settings = load_settings("local", as_of=parse_as_of("2014-01-01"))
    assert settings.as_of == settings.training_as_of == day("2014-01-01")
    assert spans(settings) == {
        "train": ("2013-03-03", "2013-12-01"),  # 273 days before the 31 of validation
        "validation": ("2013-12-01", "2014-01-01"),
        "scoring": ("2013-11-01", "2014-01-01"),
    }
    assert spans(load_settings("local").at(day("2014-01-01"))) == spans(settings)


def test_training_and_validation_end_the_label_maturity_lag_before_the_as_of(tmp_path):
    override = tmp_path / "lag.yml"
    override.write_text("windows:\n  label_maturity_days: 3\n  validation_days: 7\n")
    settings = load_settings("local", override, as_of=parse_as_of("2013-06-10"))
    assert spans(settings)["validation"] == ("2013-05-31", "2013-06-07")
    assert spans(settings)["train"][1] == "2013-05-31"
    assert spans(settings)["scoring"] == ("2013-04-10", "2013-06-10")  # 61 days, no lag


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_databricks_environments_default_to_today_utc(env):
    settings = load_settings(env)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert settings.as_of == settings.training_as_of == today
    assert settings.windows["scoring"].end == today
    assert today - settings.windows["validation"].end == timedelta(days=1)  # label maturity


def test_window_tags_name_the_windows_and_the_as_of_dates():
    assert load_settings("local").window_tags() == {
        "window_train": "2013-01-01..2013-10-01",
        "window_validation": "2013-10-01..2013-11-01",
        "window_scoring": "2013-11-01..2014-01-01",
        "as_of": "2014-01-01",
        "training_as_of": "2013-11-01",
    }


@pytest.mark.parametrize("value", ["2013-02-30", "yesterday", "2013-11-01T05:00", "20131101x"])
def test_a_bad_as_of_is_refused_in_one_line(value, capsys):
    assert cli.deploy(["--as-of", value]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --as-of: {value!r} is not a date YYYY-MM-DD")
    assert "\n" not in err


def test_parse_as_of_is_midnight_utc_and_refuses_a_time_of_day():
    assert parse_as_of("2013-11-01") == datetime(2013, 11, 1, tzinfo=UTC)
    with pytest.raises(ConfigError, match="windows.as_of: .* has a time of day"):
        parse_as_of(datetime(2013, 11, 1, 5), "windows.as_of")


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_databricks_environments_have_their_own_catalog(env):
    settings = load_settings(env)
    assert settings.runtime == "databricks"
    assert settings.local_root is None
    assert settings.model_name.startswith(f"{settings.catalog}.{settings.schema}.")


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="env: 'qa' is not configured"):
        load_settings("qa")


def test_override_file_merges_over_the_packaged_settings(tmp_path):
    override = tmp_path / "o.yml"
    override.write_text("validation:\n  mode: dry_run\ntraining:\n  max_iter: 7\n")
    settings = load_settings("local", override)
    assert settings.validation["mode"] == "dry_run"
    assert settings.training["max_iter"] == 7
    assert settings.training["learning_rate"] == 0.1  # untouched keys stay


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("validation:\n  mode: sometimes\n", "'local': validation.mode: Input should be 'enabled'"),
        ("windows:\n  train_days: 0\n", "windows.train_days: must be a whole number of days >= 1"),
        (
            "windows:\n  train: {start: 2013-01-01, end: 2013-10-01}\n",
            "'local': windows.train: unknown key",
        ),
        ("windows:\n  scoring_days: 1.5\n", "windows.scoring_days: Input should be a valid int"),
        (
            "windows:\n  label_maturity_days: -1\n",
            "windows.label_maturity_days: must be a whole number of days >= 0, got -1",
        ),
        ('windows:\n  as_of: "2013-13-01"\n', "windows.as_of: '2013-13-01' is not a date"),
        (
            "windows:\n  training_as_of: not-a-date\n",
            "windows.training_as_of: 'not-a-date' is not a date",
        ),
        (
            "windows:\n  training_as_of: 2014-02-01\n",
            "windows.training_as_of: 2014-02-01 is after the as-of date 2014-01-01",
        ),
        ("runtime: laptop\n", r"runtime: Input should be 'local' or 'databricks' \(got 'laptop'\)"),
        (
            "registry:\n  champion_alias: latest\n",
            "registry.champion_alias: 'latest' is reserved by MLflow",
        ),
        (
            "registry:\n  challenger_alias: Latest\n",
            "registry.challenger_alias: 'Latest' is reserved",
        ),
        ("registry:\n  champion_alias: V12\n", "registry.champion_alias: 'V12' is reserved"),
        ("registry:\n  challenger_alias: v3\n", "registry.challenger_alias: 'v3' is reserved"),
        ("registry:\n  champion_alias: ''\n", "registry.champion_alias: must be a non-empty"),
        (
            "registry:\n  champion_alias: prod model\n",
            "registry.champion_alias: 'prod model' is not an MLflow alias: 1 to 255 letters, "
            "digits, '_' or '-'",
        ),
        (
            'registry:\n  challenger_alias: "next\\nup"\n',
            r"registry.challenger_alias: 'next\\nup' is not an MLflow alias",
        ),
        (f"registry:\n  challenger_alias: {'c' * 256}\n", "registry.challenger_alias: 'ccc"),
        (
            "registry:\n  challenger_alias: champion\n",
            "registry.challenger_alias: must differ from registry.champion_alias",
        ),
    ],
)
def test_bad_values_name_the_key(tmp_path, yaml_text, message):
    override = tmp_path / "bad.yml"
    override.write_text(yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_settings("local", override)


NOT_ONE_NAME = (
    "must be a Unity Catalog identifier: letters, digits and underscores, not starting with "
    "a digit, at most 255 characters (e.g. ml_prod; catalog and schema are keys of their own)"
)


@pytest.mark.parametrize(
    ("yaml_text", "where", "value"),
    [
        ("tables:\n  predictions: main.ml.preds\n", "tables.predictions", "main.ml.preds"),
        ('schema: "flight delays"\n', "schema", "flight delays"),
        ("schema: flight-delays\n", "schema", "flight-delays"),
        ("catalog: dev/ml\n", "catalog", "dev/ml"),
        ("catalog: données\n", "catalog", "données"),
        ("model:\n  name: '`delay`'\n", "model.name", "`delay`"),
        ("model:\n  name: 2024_delays\n", "model.name", "2024_delays"),
        ('tables:\n  training_set: "training\\nset"\n', "tables.training_set", "training\nset"),
        ('tables:\n  training_set: "training\\tset"\n', "tables.training_set", "training\tset"),
        ('tables:\n  training_set: "set\\x7f"\n', "tables.training_set", "set\x7f"),
        ("tables:\n  training_set: ''\n", "tables.training_set", ""),
        (f"schema: {'s' * 256}\n", "schema", "s" * 256),
    ],
)
def test_a_name_that_is_not_one_unity_catalog_identifier_is_refused(
    tmp_path, yaml_text, where, value
):
    # Locally every name is a folder: ``main.ml.preds`` or ``flight-delays`` would work on
    # a laptop and fail on Databricks, and ``/`` or ``..`` would leave the warehouse.
    assert refusal(tmp_path, yaml_text) == (
        f"settings of environment 'local': {where}: {NOT_ONE_NAME} (got {value!r})"
    )


def test_an_identifier_of_255_characters_starting_with_an_underscore_is_one_name(tmp_path):
    override = tmp_path / "names.yml"
    override.write_text(f"schema: _Flight_Delays2\nmodel:\n  name: {'m' * 255}\n")
    settings = load_settings("local", override)
    assert settings.table("predictions") == "local._Flight_Delays2.flight_delay_predictions"
    assert settings.model_name == f"local._Flight_Delays2.{'m' * 255}"


def test_numbers_in_exponent_notation_are_numbers_as_in_yaml_1_2(tmp_path):
    # PyYAML reads YAML 1.1, where 1e-7 (no dot) and 1.5e3 (unsigned exponent) are strings.
    override = tmp_path / "numbers.yml"
    override.write_text(
        "training:\n  tol: 1e-7\n  learning_rate: 15E-2\n  max_iter: 30\n"
        "  l2_regularization: 2.5e0\nvalidation:\n  min_improvement_over_baseline: .25e0\n"
    )
    settings = load_settings("local", override)
    training = settings.training
    assert (training["tol"], training["learning_rate"], training["l2_regularization"]) == (
        1e-7,
        0.15,
        2.5,
    )
    assert type(training["tol"]) is float and type(training["max_iter"]) is int
    assert settings.validation["min_improvement_over_baseline"] == 0.25
    # What YAML 1.2 does not read as a number stays text: underscores, no digit after the dot.
    override.write_text("model:\n  experiment: 1_000e3\n")
    assert load_settings("local", override).experiment == "1_000e3"
    override.write_text("model:\n  experiment: ._e5\n")
    assert load_settings("local", override).experiment == "._e5"
    # Quoted, it is still text, and a number setting refuses it.
    assert refusal(tmp_path, "training:\n  tol: '1e-7'\n").startswith(
        "settings of environment 'local': training.tol: The 'tol' parameter"
    )


@pytest.mark.parametrize(
    ("yaml_text", "where", "value"),
    [
        (
            "validation:\n  max_root_mean_squared_error: .nan\n",
            "validation.max_root_mean_squared_error",
            "nan",
        ),
        (
            "validation:\n  max_relative_degradation: .inf\n",
            "validation.max_relative_degradation",
            "inf",
        ),
        ("training:\n  tol: 1e400\n", "training.tol", "inf"),  # too large: read as infinity
        ("training:\n  l2_regularization: -.inf\n", "training.l2_regularization", "-inf"),
        ("contract:\n  decision_threshold: .nan\n", "contract.decision_threshold", "nan"),
    ],
)
def test_a_number_that_is_not_finite_is_refused(tmp_path, yaml_text, where, value):
    # A limit of NaN or infinity is one no figure crosses, or every figure does.
    assert refusal(tmp_path, yaml_text) == (
        f"settings of environment 'local': {where}: Input should be a finite number (got {value})"
    )


@pytest.mark.parametrize(
    ("tables", "first", "second", "name"),
    [
        ("predictions: flights_bronze", "flights_bronze", "predictions", "flights_bronze"),
        (
            "training_set: Flight_Delay_Predictions",
            "training_set",
            "predictions",
            "flight_delay_predictions",
        ),
    ],
)
def test_two_table_keys_naming_one_table_are_refused(tmp_path, tables, first, second, name):
    # Batch inference would overwrite the bronze table, or train the predictions. Unity
    # Catalog names ignore case, so a name differing only in case is the same table.
    assert refusal(tmp_path, f"tables:\n  {tables}\n") == (
        f"settings of environment 'local': tables: {first} and {second} both name {name!r} "
        "(Unity Catalog names ignore case): give each its own name"
    )


@pytest.mark.parametrize(
    ("yaml_text", "rule"),
    [
        (
            "validation:\n  min_improvement_over_baseline: 1.5\n",
            "validation.min_improvement_over_baseline: must be a number in [0, 1), got 1.5",
        ),
        (
            "validation:\n  max_root_mean_squared_error: null\n",
            "validation.max_root_mean_squared_error: must be a number, got None",
        ),
        (
            "source:\n  start: 2013-06-01\n  end: 2013-03-01\n",
            "source.end: 2013-03-01 must be after source.start 2013-06-01 (the slice is "
            "[start, end): it would read no row)",
        ),
        ("source:\n  start: June\n", "source.start: 'June' is not a date YYYY-MM-DD"),
        (
            "windows:\n  train_days: 1000000\n",
            "windows: the windows start before the year 1: train_days, validation_days, "
            "scoring_days and label_maturity_days count back from the as-of dates",
        ),
        (
            "features:\n  lookup_tolerance_hours: 0\n",
            "features.lookup_tolerance_hours: Input should be greater than 0 (got 0)",
        ),
    ],
)
def test_a_rule_a_later_step_holds_is_checked_when_the_settings_load(tmp_path, yaml_text, rule):
    # Each of these loaded before and stopped the step that reads it (validate, ingest),
    # or raised an OverflowError with a traceback (the windows), after earlier steps wrote.
    assert refusal(tmp_path, yaml_text) == f"settings of environment 'local': {rule}"


def test_a_section_an_optional_part_reads_is_required_when_the_settings_load(monkeypatch):
    # The part's own step would refuse it after earlier steps of the run wrote; a project
    # without the part has neither the section nor a model typing it.
    for section in owned_sections():

        def without(env=None, override_file=None, section=section):
            name, raw = load_raw(env, override_file)
            raw.pop(section)
            return name, raw

        monkeypatch.setattr(config, "load_raw", without)
        with pytest.raises(ConfigError) as refused:
            load_settings("local")
        assert str(refused.value) == (
            f"settings of environment 'local': {section}: required section is missing"
        )


def test_an_empty_experiment_is_named_with_its_key_path(tmp_path):
    assert refusal(tmp_path, "model:\n  experiment: ''\n") == (
        "settings of environment 'local': model.experiment: String should have at least 1 "
        "character (got '')"
    )


def test_run_all_refuses_a_bad_gate_before_its_first_step_writes(tmp_path, monkeypatch, capsys):
    root = tmp_path / "local_root"
    monkeypatch.setenv(LOCAL_ROOT_VAR, str(root))
    override = tmp_path / "gate.yml"
    override.write_text("validation:\n  max_relative_degradation: -0.5\n")
    assert cli.run_all(["--env", "local", "--config", str(override)]) == 1
    assert capsys.readouterr().err == (
        "error: settings of environment 'local': validation.max_relative_degradation: must "
        "be a finite number >= 0, got -0.5\n"
    )
    assert not root.exists()  # no table, no MLflow store: ingest never started


def test_registry_aliases_default_and_can_be_renamed(tmp_path):
    settings = load_settings("local")
    assert (settings.champion_alias, settings.challenger_alias) == ("champion", "challenger")
    override = tmp_path / "aliases.yml"
    override.write_text("registry:\n  champion_alias: serving-2\n  challenger_alias: v2_next\n")
    renamed = load_settings("local", override)
    assert (renamed.champion_alias, renamed.challenger_alias) == ("serving-2", "v2_next")


def test_missing_override_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings("local", tmp_path / "nope.yml")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "as_of: [2013-02-01\n",
            "not valid YAML: expected ',' or ']', but got '<stream end>' (line 2, column 1)",
        ),
        (
            "windows:\n  as_of: 2013-02-30\n",
            "not valid YAML: '2013-02-30' is not a date: day "
            "is out of range for month (line 2, column 10)",
        ),
        ("- as_of\n- 2013-02-01\n", "must be a mapping of settings (key: value), got a list"),
    ],
    ids=["malformed", "no-such-date", "a-list"],
)
def test_an_override_file_that_is_no_mapping_of_settings_is_refused_in_one_line(
    tmp_path, text, problem
):
    """PyYAML's own errors (a traceback, or "day is out of range for month" naming
    neither file nor key) become one line naming the file and where the problem is."""
    override = tmp_path / "override.yml"
    override.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings("local", override)
    assert str(error.value) == f"config: override file {override}: {problem}"


def test_a_date_that_does_not_exist_in_the_packaged_settings_is_one_line(
    tmp_path, monkeypatch, capsys
):
    """conf/config.yml edited with an unquoted date that does not exist (step 3 of
    "Replace the example"): the entry point prints one line naming the file, line and
    column, and exits 1 (PyYAML's own error was a traceback here)."""
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yml").write_text("common:\n  as_of: 2013-02-30\n")
    monkeypatch.setattr(settings_file.resources, "files", lambda package: tmp_path)
    assert cli.validate([]) == 1
    assert capsys.readouterr().err == (
        "error: config: packaged file conf/config.yml: not valid YAML: '2013-02-30' is not a "
        "date: day is out of range for month (line 2, column 10)\n"
    )


def test_an_empty_override_file_changes_nothing(tmp_path):
    override = tmp_path / "empty.yml"
    override.write_text("# nothing set here\n")
    assert load_raw("local", override) == load_raw("local")


def targets_naming_otherwise(override: Path | None = None) -> list[str]:
    """Targets of databricks.yml whose model or experiment name differs from the one the
    settings of the same environment (with the YAML file ``override`` merged) name."""
    bundle = yaml.safe_load((ROOT / "databricks.yml").read_text(encoding="utf-8"))
    defaults = {name: spec.get("default") for name, spec in bundle["variables"].items()}
    assert bundle["targets"]
    differ = []
    for target, spec in bundle["targets"].items():
        values = {**defaults, **(spec.get("variables") or {})}
        settings = load_settings(target, override)
        named = f"{values['catalog']}.{values['schema']}.{values['model_name']}"
        if (named, values["experiment_name"]) != (settings.model_name, settings.experiment):
            differ.append(target)
    return differ


def test_the_bundle_variables_name_what_the_settings_of_each_target_name(tmp_path):
    """databricks.yml creates the registered model, the experiment and their permissions
    from its variables; the code registers and logs under conf/config.yml's names. A model
    renamed in one and not the other (step 3 of "Replace the example" in README.md) fails here."""
    assert targets_naming_otherwise() == []
    renamed = tmp_path / "renamed.yml"
    renamed.write_text("model:\n  name: pump_failure_classifier\n")
    bundle = yaml.safe_load((ROOT / "databricks.yml").read_text(encoding="utf-8"))
    assert targets_naming_otherwise(renamed) == list(bundle["targets"])
