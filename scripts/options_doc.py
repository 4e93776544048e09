"""Write the options table of README.md from cookiecutter.json.

Usage: ``python scripts/options_doc.py`` rewrites the table between the markers
``<!-- options:start -->`` and ``<!-- options:end -->``; ``--check`` only compares and
exits 1 when README.md is out of date. Reads cookiecutter.json (questions, defaults,
rendered per use case when they depend on ``use_case`` alone, prompts, ``_tabular_only``,
``_must_differ``) and hooks/pre_gen_project.py (the check of each variable).
Raises ``ValueError`` when README.md lacks the markers.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path

from cookiecutter.environment import StrictEnvironment

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- options:start -->", "<!-- options:end -->"


def load_pre_gen():
    """The pre_gen hook module, imported from its unrendered file."""
    spec = importlib.util.spec_from_file_location("pre_gen", REPO / "hooks" / "pre_gen_project.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def default_text(value) -> str:
    """How a cookiecutter.json default reads in the table."""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return f"`{value[0]}` (choices: {', '.join(f'`{v}`' for v in value)})"
    sources = re.findall(r"cookiecutter\.(\w+)", value)
    if sources:
        return "derived from " + ", ".join(f"`{s}`" for s in dict.fromkeys(sources))
    return f"`{value}`" if len(value) <= 40 else "(one line of text)"


def per_use_case(value, choices: list[str]) -> str | None:
    """The default of an answer whose template reads ``use_case`` alone, rendered by
    cookiecutter's Jinja environment for each of ``choices`` (``tabular: `Flight Delays`;
    rag: `Docs QA```); None for any other value."""
    if not isinstance(value, str) or set(re.findall(r"cookiecutter\.(\w+)", value)) != {"use_case"}:
        return None
    rendered = {}
    for choice in choices:
        context = {"cookiecutter": {"use_case": choice}}
        rendered[choice] = StrictEnvironment(context=context).from_string(value).render(**context)
    return "; ".join(f"{choice}: `{text}`".replace("|", "\\|") for choice, text in rendered.items())


def rule_text(name: str, value, pre_gen) -> str:
    """What is checked on generation: the first docstring line of each pre_gen check of
    ``name`` (its own, then the YAML one), or cookiecutter's own rule."""
    if isinstance(value, bool):
        return "true/false, yes/no, 1/0, on/off (cookiecutter refuses anything else)"
    if isinstance(value, list):
        return "one of the choices (cookiecutter refuses anything else)"
    checks = [pre_gen.check_for(name) or pre_gen.one_line]
    checks += [pre_gen.yaml_string] if pre_gen.written_unquoted_into_yaml(name) else []
    return " ".join(check.__doc__.strip().splitlines()[0] for check in checks)


def options_table(context: dict, pre_gen) -> str:
    """The Markdown block (table and must-differ line) for ``context`` (cookiecutter.json)."""
    prompts = context.get("__prompts__", {})
    rows = [
        "| option | default | meaning | checked on generation |",
        "|---|---|---|---|",
    ]
    for name, value in context.items():
        if name.startswith("_"):
            continue
        meaning = prompts.get(name, "").replace("|", "\\|")
        if name in context.get("_tabular_only", []):
            meaning += " (tabular only: ignored when `use_case` is `rag`)"
        rule = rule_text(name, value, pre_gen)
        default = per_use_case(value, context.get("use_case", [])) or default_text(value)
        rows.append(f"| `{name}` | {default} | {meaning} | {rule} |")
    pairs = context.get("_must_differ", [])
    if pairs:
        listed = "; ".join(f"`{a}` and `{b}`" for a, b in pairs)
        rows += [
            "",
            f"Pairs that must differ (`_must_differ`, checked when both exist): {listed}. "
            "Names are compared without case: catalogs, as Unity Catalog stores them in lower "
            "case, and branches, as git keeps each as a file and the file systems of macOS "
            "and Windows ignore case (`Main` and `main` clash). Two branches must not be one "
            "inside the other either (`main` and `main/v2`, or `Main/v2`: git cannot keep both).",
        ]
    return "\n".join(rows)


def updated_readme(readme: str, table: str) -> str:
    """``readme`` with the text between the markers replaced by ``table``."""
    if START not in readme or END not in readme:
        raise ValueError(f"README.md needs the markers {START} and {END}")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def expected_readme() -> str:
    """README.md as it should be for the current cookiecutter.json."""
    context = json.loads((REPO / "cookiecutter.json").read_text(encoding="utf-8"))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return updated_readme(readme, options_table(context, load_pre_gen()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if README.md is out of date")
    args = parser.parse_args(argv)
    path = REPO / "README.md"
    expected = expected_readme()
    if path.read_text(encoding="utf-8") == expected:
        return 0
    if args.check:
        print("README.md options table is out of date: run make docs")
        return 1
    path.write_text(expected, encoding="utf-8")
    print("README.md options table updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
