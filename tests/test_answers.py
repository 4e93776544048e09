"""The pre-generation hook refuses answers that cannot deploy."""

from __future__ import annotations

import pytest
from conftest import render
from cookiecutter.exceptions import FailedHookException


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param(
            {"databricks_prod_workspace_host": "http://adb-1.1.azuredatabricks.net"}, id="http"
        ),
        pytest.param(
            {"databricks_staging_workspace_host": "dbc-1.cloud.databricks.com"}, id="no-scheme"
        ),
        pytest.param({"catalog_prod": "ml-prod"}, id="hyphen-in-catalog"),
        pytest.param({"schema_name": "1st"}, id="schema-starts-with-digit"),
        pytest.param({"catalog_test": "staging"}, id="shared-catalog"),
        pytest.param({"release_branch": " "}, id="blank-branch"),
    ],
)
def test_bad_answers_stop_generation(answers, tmp_path):
    with pytest.raises(FailedHookException):
        render(tmp_path, **answers)
    assert not any(tmp_path.iterdir()), "a refused project left files behind"


def test_good_answers_pass(tmp_path):
    project = render(
        tmp_path,
        databricks_prod_workspace_host="https://dbc-1a2b.cloud.databricks.com/",
        catalog_prod="ml_prod",
        default_branch="trunk",
    )
    assert (project / "databricks.yml").is_file()


def test_a_host_pasted_from_the_browser_is_reduced_to_scheme_and_host(tmp_path):
    project = render(
        tmp_path,
        databricks_prod_workspace_host="https://X.cloud.databricks.com/?o=123#job/456",
    )
    bundle = (project / "databricks.yml").read_text()
    assert "host: https://x.cloud.databricks.com\n" in bundle
    assert "?o=123" not in bundle and "#job" not in bundle
