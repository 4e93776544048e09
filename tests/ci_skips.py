"""A pytest plugin: under CI=true, a run with skipped tests fails.

CI installs everything the tests need (.ci/run), so a skip there means a check silently did
not run. Locally skips stay skips (with their reasons printed by ``-rs``).
"""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Turn a passing run with skips into a failing one when the environment says CI=true."""
    if os.environ.get("CI", "").lower() != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == pytest.ExitCode.OK:
        reporter.write_line(
            f"CI=true: {len(skipped)} test(s) skipped, and in CI every test must run: "
            + "; ".join(sorted({str(r.longrepr[-1]) for r in skipped if r.longrepr})),
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
