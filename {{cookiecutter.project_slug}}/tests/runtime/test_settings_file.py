"""Which environment and override file the settings come from (both use cases): the
arguments (``--env``, ``--config``) first, then ``MLOPS_ENV`` and ``MLOPS_CONFIG``, then
the ``local`` environment and no override."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.settings_file import ConfigError, load_raw


@pytest.fixture
def no_variables(monkeypatch):
    """Neither ``MLOPS_ENV`` nor ``MLOPS_CONFIG`` is set while the test runs."""
    monkeypatch.delenv("MLOPS_ENV", raising=False)
    monkeypatch.delenv("MLOPS_CONFIG", raising=False)
    return monkeypatch


def test_without_an_argument_or_variable_the_local_environment_is_read(no_variables):
    env, raw = load_raw()
    assert (env, raw["runtime"], raw["catalog"]) == ("local", "local", "local")


def test_mlops_env_chooses_the_environment_and_env_given_wins_over_it(no_variables):
    no_variables.setenv("MLOPS_ENV", "staging")
    env, raw = load_raw()
    assert (env, raw["runtime"], raw["catalog"]) == ("staging", "databricks", "staging")
    env, raw = load_raw("prod")
    assert (env, raw["catalog"]) == ("prod", "prod")


def test_an_unknown_environment_from_mlops_env_is_refused_by_name(no_variables):
    no_variables.setenv("MLOPS_ENV", "qa")
    with pytest.raises(ConfigError, match=r"^env: 'qa' is not configured \(known: local, "):
        load_raw()


def test_mlops_config_merges_its_file_and_config_given_wins_over_it(no_variables, tmp_path):
    from_variable = tmp_path / "variable.yml"
    from_variable.write_text("catalog: from_variable\nschema: kept\n", encoding="utf-8")
    given = tmp_path / "given.yml"
    given.write_text("catalog: given\n", encoding="utf-8")
    no_variables.setenv("MLOPS_CONFIG", str(from_variable))
    env, raw = load_raw()
    assert (env, raw["runtime"], raw["catalog"], raw["schema"]) == (
        "local",
        "local",
        "from_variable",
        "kept",
    )
    # The file given replaces the variable's (whose schema is not merged in).
    _, raw = load_raw(override_file=given)
    assert (raw["catalog"], raw["schema"]) == ("given", "{{ cookiecutter.package_name }}")


def test_a_missing_file_named_by_mlops_config_is_refused_by_path(no_variables, tmp_path):
    missing = tmp_path / "missing.yml"
    no_variables.setenv("MLOPS_CONFIG", str(missing))
    with pytest.raises(ConfigError, match=f"^config: override file {missing} does not exist$"):
        load_raw()
