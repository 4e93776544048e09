"""A pytest plugin: which of the Spark tier's two workers runs each Spark test.

The Spark tier (Makefile ``SPARK_TIER``) runs two pytest-xdist workers with
``--dist loadgroup``: every test of one group runs on one worker. Its tests are few and
of very unequal length, so the split is given here rather than left to the scheduler:
with the previous ``--dist worksteal``, the worker that ran the rendered GitLab unit job
finished minutes before the other, which still had two tests to run and none it could
hand over (a worker never gives away the test it runs next).

Seconds from the full ``.ci/run`` of 459d9a5 (both workers busy, so each test slower
than alone): GitLab unit job 955, lint job 27, rule evaluation 13, rag project 165;
integration tier 663, second dataset 301, project without the feature store 130. The
groups then take about 1,160 and 1,094 s.
"""

from __future__ import annotations

import pytest

# (test file, test function or "*" for every test of the file) -> worker group.
SPARK_GROUPS = {
    ("test_gitlab_ci_local.py", "*"): "gitlab_and_rag",
    ("test_spark_tier.py", "test_rag_project_passes_its_own_tests"): "gitlab_and_rag",
    ("test_spark_tier.py", "test_rendered_project_passes_its_own_integration_tests"): "tabular",
    ("test_spark_tier.py", "test_project_without_the_feature_store_passes_its_own_tests"): (
        "tabular"
    ),
    ("test_second_dataset.py", "*"): "tabular",
}


def spark_group(item: pytest.Item) -> str | None:
    """The :data:`SPARK_GROUPS` group of ``item``, or None when the table has no entry."""
    return SPARK_GROUPS.get((item.path.name, item.originalname)) or SPARK_GROUPS.get(
        (item.path.name, "*")
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the marks (loadgroup)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every collected Spark test with its group (``xdist_group``).

    Raises UsageError naming the test when a Spark test has no group, and naming the
    entry when one of :data:`SPARK_GROUPS` matches no collected test (a renamed test),
    once the whole Spark tier is collected.
    """
    spark = [item for item in items if item.get_closest_marker("spark")]
    missing = [item.nodeid for item in spark if spark_group(item) is None]
    if missing:
        raise pytest.UsageError(
            f"Spark tests without a worker group in tests/spark_workers.py: {missing}"
        )
    for item in spark:
        item.add_marker(pytest.mark.xdist_group(spark_group(item)))
    files = {item.path.name for item in spark}
    if files >= {name for name, _ in SPARK_GROUPS}:  # the whole tier was collected
        found = {(item.path.name, item.originalname) for item in spark}
        found |= {(name, "*") for name in files}
        stale = sorted(set(SPARK_GROUPS) - found)
        if stale:
            raise pytest.UsageError(f"tests/spark_workers.py names no collected test: {stale}")
