"""Settings load per environment and refuse bad values with the key named."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.config import ConfigError, load_settings


def test_local_is_the_default_environment(monkeypatch):
    monkeypatch.delenv("MLOPS_ENV", raising=False)
    settings = load_settings()
    assert settings.env == "local"
    assert settings.runtime == "local"
    assert settings.table("training_set") == f"local.{settings.schema}.training_set"
    assert settings.windows["train"].end <= settings.windows["validation"].start


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
        ("validation:\n  mode: sometimes\n", "validation.mode: 'sometimes' must be one of"),
        (
            "windows:\n  train: {start: 2013-05-01, end: 2013-04-01}\n",
            "windows.train: end must be after",
        ),
        (
            "windows:\n  validation: {start: 2013-02-01, end: 2013-11-01}\n",
            "windows.validation: must start",
        ),
        (
            "windows:\n  scoring: {start: not-a-date, end: 2014-01-01}\n",
            "windows.scoring.start: 'not-a-date'",
        ),
        ("runtime: laptop\n", "runtime: 'laptop' must be one of"),
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


def test_registry_aliases_default_and_can_be_renamed(tmp_path):
    settings = load_settings("local")
    assert (settings.champion_alias, settings.challenger_alias) == ("champion", "challenger")
    override = tmp_path / "aliases.yml"
    override.write_text("registry:\n  champion_alias: serving\n  challenger_alias: v2_candidate\n")
    renamed = load_settings("local", override)
    assert (renamed.champion_alias, renamed.challenger_alias) == ("serving", "v2_candidate")


def test_missing_override_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings("local", tmp_path / "nope.yml")
