"""No Jinja block in the template's Python: an option picks whole files, or a part declares
itself.

House rule: an optional feature is whole files listed in ``_optional_files`` (or a
variant renamed by ``_variant_files``), and a part that adds to shared code declares
it in its own ``<part>/part.py`` (the rendered ``parts.py`` reads the declarations).
Python files may hold value substitutions (``{{ cookiecutter.package_name }}`` in
imports) but no ``{% ... %}`` block and no ``{# ... #}`` comment. The matrix test
(test_render_matrix.py) checks, for each render of the pairwise cover, that the
declarations match its options.
"""

from __future__ import annotations

import re

from conftest import TEMPLATE_DIR

# A Jinja block tag or comment: "{%", "{#". Value substitutions ("{{ }}") are allowed.
JINJA_BLOCK = re.compile(r"\{%|\{#")


def jinja_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line of ``text`` holding a Jinja block tag or comment."""
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), 1)
        if JINJA_BLOCK.search(line)
    ]


def test_no_python_file_of_the_template_holds_a_jinja_block():
    files = sorted(TEMPLATE_DIR.rglob("*.py"))
    assert len(files) > 100  # the template's Python is found (the folder moved otherwise)
    found = []
    for path in files:
        relative = path.relative_to(TEMPLATE_DIR).as_posix()
        found += [f"{relative}:{n}: {line}" for n, line in jinja_blocks(path.read_text())]
    assert found == []


def test_the_search_finds_blocks_and_comments_but_not_substitutions():
    text = (
        "from {{ cookiecutter.package_name }}.cli import STEPS\n"
        "share = f'{ratio:.0%}'\n"
        "STEPS = (\n"
        "{%- if cookiecutter.include_streaming_inference %}\n"
        '    "x",\n'
        "{%- endif %}\n"
        ")\n"
        "{# a comment #}\n"
    )
    assert [n for n, _ in jinja_blocks(text)] == [4, 6, 8]
