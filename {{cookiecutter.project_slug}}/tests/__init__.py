"""The project's tests: a package, so test modules share helper modules by relative import."""

import pytest

# pytest rewrites the asserts of test modules and conftest files only: registered here,
# a failing assert in a shared helper module reports the values it compared too.
pytest.register_assert_rewrite("tests.serving_checks")
