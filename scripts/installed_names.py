"""Write hooks/installed_names.txt: what rendered projects' venvs install, by name.

Usage: ``python scripts/installed_names.py VENV [VENV ...]``, each VENV the virtual
environment of a rendered project with every extra installed (``make install``, then
``.venv/bin/pip install -e '.[databricks,tools]'``): render both use cases and pass both
venvs. Rewrites hooks/installed_names.txt with one line per distribution installed in any
of them, its PEP 503 name followed by the top-level import names it puts on sys.path
(``importlib.metadata.packages_distributions``, run by each venv's own python). The
rendered project itself, a distribution installed from a local folder (its PEP 610
``direct_url.json`` holds a ``file:`` URL), is left out. ``--check`` only compares and
exits 1 when the file differs. Raises ``subprocess.CalledProcessError`` when a venv's
python fails, ``FileNotFoundError`` when a VENV has no ``bin/python``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from options_doc import load_pre_gen

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "hooks" / "installed_names.txt"
HEADER = """\
# Written by scripts/installed_names.py from the venvs of rendered projects (both use
# cases, every extra); do not edit. One line per installed distribution: its PEP 503
# name, then the top-level import names it installs. hooks/pre_gen_project.py refuses
# these names as project_slug and package_name.
"""
# Run by a venv's python: {distribution name: [top-level names], ...} without the
# distributions installed from a local folder.
LIST_DISTRIBUTIONS = """
import json
from importlib import metadata
top_level = {}
for name, owners in metadata.packages_distributions().items():
    for owner in owners:
        top_level.setdefault(owner, set()).add(name)
found = {}
for dist in metadata.distributions():
    origin = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    if not origin.startswith("file:"):
        name = dist.metadata["Name"]
        found[name] = sorted(top_level.get(name, ()))
print(json.dumps(found))
"""


def installed(venv: Path) -> dict[str, set[str]]:
    """{normalized distribution name: its top-level import names (identifiers only)} of
    every distribution in ``venv`` but those installed from a local folder."""
    python = venv / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"{python}: not a venv's python")
    done = subprocess.run(
        [str(python), "-c", LIST_DISTRIBUTIONS], capture_output=True, text=True, check=True
    )
    normalized = load_pre_gen().normalized  # as the hook compares the names
    return {
        normalized(name): {module for module in modules if module.isidentifier()}
        for name, modules in json.loads(done.stdout).items()
    }


def table(venvs: list[Path]) -> str:
    """The text of hooks/installed_names.txt for ``venvs``: the header, then one sorted
    line per distribution of any of them, ``name import ...`` (imports sorted)."""
    names: dict[str, set[str]] = {}
    for venv in venvs:
        for distribution, modules in installed(venv).items():
            names.setdefault(distribution, set()).update(modules)
    lines = [" ".join([name, *sorted(names[name])]) for name in sorted(names)]
    return HEADER + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check`` compare) hooks/installed_names.txt; 0, or 1 when
    ``--check`` finds it out of date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venvs", nargs="+", type=Path, help="venvs of rendered projects")
    parser.add_argument("--check", action="store_true", help="compare only; 1 when it differs")
    args = parser.parse_args(argv)
    text = table(args.venvs)
    if args.check:
        same = OUTPUT.exists() and OUTPUT.read_text(encoding="utf-8") == text
        print(f"{OUTPUT.relative_to(REPO)}: {'up to date' if same else 'out of date'}")
        return 0 if same else 1
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
