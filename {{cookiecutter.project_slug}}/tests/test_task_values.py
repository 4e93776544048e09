"""Task values reach dbutils on Databricks and are skipped locally."""

from __future__ import annotations

import sys
import types
from dataclasses import replace

from {{ cookiecutter.package_name }}.config import load_settings
from {{ cookiecutter.package_name }}.runtime.task_values import publish


def test_local_runs_publish_nothing():
    assert publish(load_settings("local"), "model_version", "3") is False


def test_databricks_runs_set_the_task_value(monkeypatch):
    calls = []
    task_values = types.SimpleNamespace(set=lambda key, value: calls.append((key, value)))
    fake = types.ModuleType("databricks.sdk.runtime")
    fake.dbutils = types.SimpleNamespace(jobs=types.SimpleNamespace(taskValues=task_values))
    monkeypatch.setitem(sys.modules, "databricks.sdk.runtime", fake)
    settings = replace(load_settings("dev"), runtime="databricks")
    assert publish(settings, "model_version", "4") is True
    assert calls == [("model_version", "4")]
