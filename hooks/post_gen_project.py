"""Post-generation: remove the optional files that the answers switch off.

The one list of optional files is ``_optional_files`` in cookiecutter.json:
``{option: {value: [glob, ...]}}``. Files listed under any value other than the
chosen one are removed. Boolean answers are compared as "true"/"false".
Then ``_variant_files`` (``{glob: new file name}``) renames the variant files that
survived the pruning, e.g. ``src/*/cli.rag.py`` to ``cli.py`` in the same folder: a path
that needs different content per answer is whole files chosen by the manifest.
The answers arrive as JSON in a raw string (see pre_gen_project.py for why that is safe).
"""

import json
import shutil
import sys
from pathlib import Path

ANSWERS_JSON = r'{{ cookiecutter | tojson }}'  # fmt: skip


def as_key(value):
    """An answer as a manifest key: booleans become "true"/"false", the rest str()."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def paths_to_remove(manifest, chosen, root):
    """Existing paths under ``root`` listed for values that were not chosen."""
    doomed = []
    for option, by_value in manifest.items():
        for value, patterns in by_value.items():
            if value == as_key(chosen[option]):
                continue
            for pattern in patterns:
                doomed.extend(sorted(root.glob(pattern)))
    return doomed


def rename_variants(variants, root):
    """Rename each existing file matching a glob of ``variants`` to its new name, same folder.

    Returns the (old, new) paths. Raises FileExistsError when the new name is taken
    (the manifest must prune the file the variant replaces).
    """
    moves = []
    for pattern, new_name in variants.items():
        for path in sorted(root.glob(pattern)):
            target = path.with_name(new_name)
            if target.exists():
                raise FileExistsError(f"{target}: exists, {path.name} cannot replace it")
            path.rename(target)
            moves.append((path, target))
    return moves


def main(answers_json=ANSWERS_JSON):
    """Remove, under the current folder, the optional paths the answers switch off."""
    answers = json.loads(answers_json)
    manifest = answers["_optional_files"]
    chosen = {option: answers[option] for option in manifest}
    for path in paths_to_remove(manifest, chosen, Path.cwd()):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    rename_variants(answers.get("_variant_files", {}), Path.cwd())
    return 0


if __name__ == "__main__":
    sys.exit(main())
