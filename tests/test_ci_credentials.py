"""Which Databricks credentials each CI job can read: a pull or merge request never gets
production's, and the jobs that only run code (lint, tests) get none at all."""

from __future__ import annotations

import pytest
from ci_files import CONDITION_READERS, CREDENTIAL_READERS, ID_TOKEN, PUSH_ONLY
from matrix import CLOUDS, PLATFORMS, rendered

# job -> the workspaces whose credentials it must get, and no other.
WORKSPACES_OF = {
    "lint": set(),
    "unit_tests": set(),
    "integration": set(),
    "bundle_validate": {"staging"},  # runs on pull requests: validates staging only
    "test_target": {"staging"},
    "deploy_staging": {"staging"},
    "deploy_prod": {"prod"},
}
CODE_ONLY = ("lint", "unit_tests", "integration")  # no token of any kind either
# The CI files do not depend on compute, and only Azure Pipelines' on the cloud (its
# sign-in differs on Azure): one render per file that can differ.
RENDERS = [
    pytest.param({"cicd_platform": platform, "cloud": cloud}, id=f"{platform}-{cloud}")
    for platform in PLATFORMS
    if platform != "none"
    for cloud in (CLOUDS if platform == "azure_devops" else CLOUDS[:1])
]


@pytest.mark.parametrize("answers", RENDERS)
def test_pull_requests_never_get_production_credentials(answers, tmp_path_factory):
    platform = answers["cicd_platform"]
    project = rendered(tmp_path_factory, {**answers, "use_case": "tabular"})
    credentials = CREDENTIAL_READERS[platform](project)
    conditions = CONDITION_READERS[platform](project)
    assert set(credentials) == set(WORKSPACES_OF)
    on_pull_requests = [job for job in credentials if PUSH_ONLY[platform] not in conditions[job]]
    assert sorted(on_pull_requests) == sorted([*CODE_ONLY, "bundle_validate"])
    for job in on_pull_requests:
        assert "prod" not in credentials[job], f"{platform} {job} runs on pull requests"
    for job in CODE_ONLY:
        assert credentials[job] == set(), f"{platform} {job}: {credentials[job]}"
    for job, expected in WORKSPACES_OF.items():
        assert credentials[job] - {ID_TOKEN} == expected, f"{platform} {job}"
