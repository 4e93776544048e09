"""A pytest plugin: which of the Spark tier's two workers runs each Spark test.

The Spark tier (Makefile ``SPARK_TIER``) runs two pytest-xdist workers with
``--dist loadgroup``: every test of one group runs on one worker. Its tests are few and
of very unequal length, so the split is given here rather than left to the scheduler:
with the previous ``--dist worksteal``, the worker that ran the rendered GitLab unit job
finished minutes before the other, which still had two tests to run and none it could
hand over (a worker never gives away the test it runs next).

Seconds per test from full ``.ci/run`` runs (both workers busy, so each test slower than
alone), CI62 (a fresh machine) / CI66 (warm caches): GitLab unit job 429 / 444, lint job
11 / 15, rag project 209 / 179, integration tier 280 / 282, project without the feature
store 117 / 125, second dataset 150 / 89. With the rag project beside the GitLab jobs (the
split up to CI67) the groups took 649 and 547 s in CI62, 638 and 496 s in CI66; with the
second dataset there instead, 590 and 606 s, 548 and 586 s: the tier ends with its longer
group, about 40 to 60 s sooner.
"""

from __future__ import annotations

import pytest

# (test file, test function or "*" for every test of the file) -> worker group.
GITLAB = "gitlab_and_second_dataset"
PIPELINES = "tabular_and_rag"
SPARK_GROUPS = {
    ("test_gitlab_ci_local.py", "*"): GITLAB,
    ("test_second_dataset.py", "*"): GITLAB,
    ("test_spark_tier.py", "test_rag_project_passes_its_own_tests"): PIPELINES,
    ("test_spark_tier.py", "test_rendered_project_passes_its_own_integration_tests"): PIPELINES,
    ("test_spark_tier.py", "test_project_without_the_feature_store_passes_its_own_tests"): (
        PIPELINES
    ),
}


def group_of(file: str, test: str) -> str | None:
    """The :data:`SPARK_GROUPS` group of test function ``test`` of test file ``file`` (a file
    name), or None when the table has no entry for it."""
    return SPARK_GROUPS.get((file, test)) or SPARK_GROUPS.get((file, "*"))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the marks (loadgroup)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every collected Spark test that :data:`SPARK_GROUPS` names with its group
    (``xdist_group``). Runs on each pytest-xdist worker, where the tests are collected;
    tests/test_spark_workers.py checks that every Spark test has a group and every entry
    names a test."""
    for item in items:
        group = group_of(item.path.name, item.originalname)
        if item.get_closest_marker("spark") and group:
            item.add_marker(pytest.mark.xdist_group(group))
