"""Post-generation: remove the optional files that the answers switch off.

The one list of optional files is ``_optional_files`` in cookiecutter.json:
``{option: {value: [glob, ...]}}``. Files listed under any value other than the
chosen one are removed. Boolean answers are compared as "true"/"false".
Only non-free-text values (booleans, choices, the manifest) are rendered here.
"""

import json
import shutil
import sys
from pathlib import Path

MANIFEST = json.loads("""{{ cookiecutter._optional_files | jsonify }}""")
CHOSEN = {
{%- for option in cookiecutter._optional_files %}
    "{{ option }}": json.loads('''{{ cookiecutter[option] | jsonify }}'''),
{%- endfor %}
}


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


def main():
    root = Path.cwd()
    for path in paths_to_remove(MANIFEST, CHOSEN, root):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
