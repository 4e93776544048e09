"""The OpenMP runtime scikit-learn fits with waits passively once the package is imported.

No Spark: each case starts a fresh interpreter, since the policy is read when OpenMP
loads. libgomp (Linux) prints its settings with ``OMP_DISPLAY_ENV=verbose``: with the
passive policy its threads spin 0 times before they sleep (300,000 by default).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="libgomp's settings display")

# The package, then the gradient boosting the model uses (sklearn.ensemble loads OpenMP).
IMPORT = "import {{ cookiecutter.package_name }}, sklearn.ensemble"


def _spin_count(**env: str) -> str:
    """GOMP_SPINCOUNT as libgomp reports it in a new interpreter importing :data:`IMPORT`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT],
        env={**base, "OMP_DISPLAY_ENV": "verbose", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    (line,) = [x for x in done.stderr.splitlines() if "GOMP_SPINCOUNT" in x]
    return line.split("=")[1].strip().strip("'")


def test_importing_the_package_makes_openmp_threads_sleep_rather_than_spin():
    assert _spin_count() == "0"


def test_a_wait_policy_the_environment_sets_is_kept():
    assert _spin_count(OMP_WAIT_POLICY="active") != "0"
