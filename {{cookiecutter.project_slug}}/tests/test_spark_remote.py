"""Which session a local run gets: classic Spark, or Spark Connect at an address."""

from __future__ import annotations

from dataclasses import replace

from {{ cookiecutter.package_name }}.config import load_settings
from {{ cookiecutter.package_name }}.runtime.spark import REMOTE_VAR, spark_remote


def test_classic_spark_unless_an_address_is_set(monkeypatch):
    monkeypatch.delenv(REMOTE_VAR, raising=False)
    assert spark_remote(load_settings("local")) is None


def test_the_environment_variable_beats_the_setting(monkeypatch):
    settings = load_settings("local")
    configured = replace(settings, raw={**settings.raw, "spark_remote": "sc://localhost:15002"})
    monkeypatch.delenv(REMOTE_VAR, raising=False)
    assert spark_remote(configured) == "sc://localhost:15002"
    monkeypatch.setenv(REMOTE_VAR, "local[2]")
    assert spark_remote(configured) == "local[2]"
    monkeypatch.setenv(REMOTE_VAR, "")  # empty counts as unset
    assert spark_remote(configured) == "sc://localhost:15002"
