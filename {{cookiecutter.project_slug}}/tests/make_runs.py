"""The project's ``make`` targets run on a copy of its Makefile, as from a shell, for the
tests of both use cases."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from {{ cookiecutter.package_name }}.settings_file import LOCAL_ROOT_VAR

PROJECT = Path(__file__).resolve().parents[1]

# The variables a make that started pytest passes on (``make -j2 test-unit``, or
# ``MAKEFLAGS=-j2`` in the shell): left in the environment, the make below finds in
# MAKEFLAGS a jobserver it cannot reach and warns on stderr, and with MAKELEVEL prefixes
# its messages with ``make[N]:``; the checks compare its stderr.
MAKE_VARIABLES = ("MAKEFLAGS", "MAKELEVEL")

# The values of MLOPS_LOCAL_ROOT (None: unset) that mean the folder local_runtime.
LOCAL_RUNTIME_ROOTS = (None, "")


def local_roots(elsewhere: Path) -> list[tuple[str | None, str]]:
    """Each way ``MLOPS_LOCAL_ROOT`` reaches make (``run_make``'s ``local_root``) with the
    folder the Makefile must act on: unset and empty name ``local_runtime``, the path
    ``elsewhere`` names itself."""
    return [(root, "local_runtime") for root in LOCAL_RUNTIME_ROOTS] + [
        (str(elsewhere), str(elsewhere))
    ]


def copy_makefile(folder: Path) -> Path:
    """``folder`` with a copy of the project's Makefile in it (a make there acts on
    ``folder``, not on the project), made when missing."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT / "Makefile", folder / "Makefile")
    return folder


def run_make(
    folder: Path, *args: str, local_root: str | None = None
) -> subprocess.CompletedProcess:
    """The finished ``make <args>`` of the Makefile in ``folder``, run as from a shell
    (without :data:`MAKE_VARIABLES`) with ``MLOPS_LOCAL_ROOT`` set to ``local_root``, unset
    when None (whatever this process has), its output captured as text."""
    env = {k: v for k, v in os.environ.items() if k not in (*MAKE_VARIABLES, LOCAL_ROOT_VAR)}
    if local_root is not None:
        env[LOCAL_ROOT_VAR] = local_root
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
