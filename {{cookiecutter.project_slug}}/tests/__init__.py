"""The project's tests: a package, so test modules share helper modules by relative import."""

from pathlib import Path

import pytest

# pytest rewrites the asserts of test modules and conftest files only: registered here,
# a failing assert in a shared helper module (``*_checks.py`` in this folder that is not a
# test module, those the project's options rendered) reports the values it compared too.
for _helper in sorted(Path(__file__).parent.glob("*_checks.py")):
    if not _helper.name.startswith("test_"):
        pytest.register_assert_rewrite(f"{__name__}.{_helper.stem}")
