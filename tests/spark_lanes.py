"""A pytest-xdist plugin: the Spark tier's tests in two lanes of about equal length, one
per worker (the Makefile runs the tier with ``-n 2 --dist loadscope``).

Each Spark-tier test takes minutes. Seconds in the CI run of 50b61dc, which used
``--dist worksteal``: the GitLab unit job 976, the default project's integration tier 691,
the second dataset 299, the rag project 263, the project without the feature store 208,
the other GitLab jobs 45. worksteal gave one worker the integration tier and the three
200-300 s tests, and a worker always keeps its next test, which no other worker can take:
the other worker sat idle for the last 7 minutes of the 1,487 s tier. Here ``LANES`` says
which worker's queue each test joins; from those durations, about 1,280 s (GitLab and
rag) and 1,200 s. The lanes are fixed: when tests change, the tier's ``--durations=0``
figures say whether they still balance.
``--dist loadgroup`` with ``xdist_group`` marks would say the same, but it groups nothing
under pytest 9.2 (pytest-xdist issue 1386); a scheduler of its own reads the node ids only.
"""

from __future__ import annotations

import pytest
from xdist.scheduler import LoadScopeScheduling

# Lane -> node ids under tests/ (or their file part) of the Spark-tier tests it runs.
LANES = {
    "spark-lane-1": (
        "test_gitlab_ci_local.py",
        "test_spark_tier.py::test_rag_project_passes_its_own_tests",
    ),
    "spark-lane-2": (
        "test_spark_tier.py::test_rendered_project_passes_its_own_integration_tests",
        "test_spark_tier.py::test_project_without_the_feature_store_passes_its_own_tests",
        "test_second_dataset.py",
    ),
}


def in_entry(nodeid: str, entry: str) -> bool:
    """True when the test ``nodeid`` is the ``LANES`` entry ``entry`` or in it (its file).
    The node id may start with ``tests/`` (pytest run from the repo) or not (from tests/)."""
    nodeid = nodeid.removeprefix("tests/")
    return nodeid == entry or nodeid.startswith(f"{entry}::")


def lane(nodeid: str) -> str | None:
    """The lane of the test ``nodeid`` (a key of ``LANES``), None when it has none."""
    for name, entries in LANES.items():
        if any(in_entry(nodeid, e) for e in entries):
            return name
    return None


class SparkLanes(LoadScopeScheduling):
    """``--dist loadscope`` whose scope of a test in ``LANES`` is its lane: each lane goes
    to one worker as a whole. Other tests keep their module or class scope."""

    def _split_scope(self, nodeid: str) -> str:
        return lane(nodeid) or super()._split_scope(nodeid)


# optionalhook: a run without xdist (`-p no:xdist`, to debug with pdb) does not know it.
@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> LoadScopeScheduling | None:
    """:class:`SparkLanes` for ``--dist loadscope``; xdist's own scheduler otherwise."""
    if config.getvalue("dist") == "loadscope":
        return SparkLanes(config, log)
    return None
