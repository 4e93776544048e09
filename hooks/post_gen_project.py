"""Post-generation: remove the optional files that the answers switch off, then rename variants.

The one list of optional files is ``_optional_files`` in cookiecutter.json:
``{option: {value: [glob, ...]}}``. Files listed under any value other than the
chosen one are removed. Boolean answers are compared as "true"/"false".
Then ``_variant_files`` (``{glob: new file name}``) renames the variant files that
survived the pruning, e.g. ``src/*/cli.rag.py`` to ``cli.py`` in the same folder: a path
that needs different content per answer is whole files chosen by the manifest.
The answers arrive as JSON in a raw string (see pre_gen_project.py for why that is safe).

Only files the template renders are removed: a file a user added under a listed path (say
``.github/dependabot.yml`` in a GitLab project) survives a rerender with ``-f``, and so does
the folder holding it. The template's file list is read from its folder (``_repo_dir``, or
``_template`` when that is a folder); when neither is known (cruft with a remote template,
which renders into a fresh folder), every file under a listed path is removed.

Last, when the template folder is a git checkout, ``.cruft.json`` records the template,
its commit and the answers as ``cruft create`` does, so ``make update-template`` works in
a project made with plain cookiecutter too. Only plain cookiecutter's renders write it
(they have ``_repo_dir``): cruft renders through cookiecutter's ``generate_files``, which
sets none, and writes the file itself. Under ``cruft update`` the hook's file would be
wrong: cruft renders the old and the new template into folders of its own and applies
their difference, and the hook, which finds the template's working tree, would record
its newest commit in both.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

JINJA_VARIABLE = re.compile(r"\{\{\s*cookiecutter\.(\w+)\s*\}\}")

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


def template_folder(answers):
    """The template's folder (absolute), or ``None`` when it is unknown.

    It is ``_repo_dir`` or ``_template``: absolute, or relative to this process's working
    directory or to ``$PWD`` (cookiecutter's own, where a relative path was typed), and
    holds the project folder (named after ``cookiecutter.project_slug`` in braces).
    """
    bases = [Path.cwd()] + ([Path(os.environ["PWD"])] if os.environ.get("PWD") else [])
    folders = [answers.get(key) for key in ("_repo_dir", "_template")]
    for folder in folders:
        if not (isinstance(folder, str) and folder):
            continue
        for base in bases:  # an absolute folder joined to a base is itself
            candidate = (base / folder).resolve()
            if any(candidate.glob("*cookiecutter.project_slug*")):
                return candidate
    return None


def template_files(answers):
    """Paths ('/'-separated, relative to the project) of every file the template renders,
    with ``cookiecutter.x`` names in double braces resolved from ``answers``; ``None`` when
    the template folder is unknown."""
    folder = template_folder(answers)
    if folder is None:
        return None
    for template in sorted(folder.glob("*cookiecutter.project_slug*")):
        files = (p.relative_to(template).as_posix() for p in template.rglob("*") if p.is_file())
        return {JINJA_VARIABLE.sub(lambda m: str(answers[m.group(1)]), f) for f in files}
    return None


def git_output(folder, *args):
    """stdout of ``git -C folder <args>``, stripped; ``None`` when git fails or is missing."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def cruft_state(answers, folder):
    """What ``cruft create`` writes to ``.cruft.json`` for this render, or ``None`` when
    ``folder`` (the template's) is unknown or not in a git checkout.

    ``template`` is ``_template`` when it names a remote repository (a URL, or an
    abbreviation such as ``gh:org/repo`` expanded by cookiecutter's built-in ones), else
    the checkout's top folder; ``checkout`` the ``--checkout`` given for a repository
    (``None`` for a folder, whose files cookiecutter renders as they are, whatever
    ``--checkout`` says); ``directory`` the template's folder inside the checkout
    (``None`` at its top); ``commit`` the checkout's HEAD (uncommitted changes are not
    recorded); ``context`` every variable of the template's ``cookiecutter.json`` with
    this render's value, in that file's order (its private variables included: the file
    manifest, the tool versions), then ``_template`` and ``_commit``, as cruft writes the
    file. So ``make update-template`` (``cruft update --refresh-private-variables``, which
    rewrites it) leaves it as it is when the template has not changed. This run's folders
    (``_output_dir``, ``_repo_dir``, ``_checkout``) are left out, as cruft leaves them.
    """
    if folder is None:
        return None
    top = git_output(folder, "rev-parse", "--show-toplevel")
    commit = git_output(folder, "rev-parse", "HEAD")
    if not top or not commit:
        return None
    top = Path(top).resolve()
    directory = None if top == folder else folder.relative_to(top).as_posix()
    template = str(answers.get("_template") or "")
    cloned = False  # cookiecutter cloned a repository URL (and checked out --checkout)
    if not template or (Path(template).is_absolute() and Path(template).is_dir()):
        template = str(top)
    else:
        from cookiecutter.config import BUILTIN_ABBREVIATIONS
        from cookiecutter.repository import expand_abbreviations, is_repo_url

        expanded = expand_abbreviations(template, BUILTIN_ABBREVIATIONS)
        cloned = is_repo_url(expanded)
        template = expanded if cloned else str(top)
    variables = json.loads((folder / "cookiecutter.json").read_text(encoding="utf-8"))
    # An equal value as the template's file writes it (the answers come with dict keys sorted)
    context = {
        key: variables[key] if variables[key] == answers[key] else answers[key]
        for key in variables
        if key in answers
    }
    context.update({"_template": template, "_commit": commit})
    return {
        "template": template,
        "commit": commit,
        # A folder is rendered as it is: cookiecutter ignores --checkout there
        "checkout": answers.get("_checkout") if cloned else None,
        "context": {"cookiecutter": context},
        "directory": directory,
    }


def with_these_answers(state_file, answers):
    """The project's ``.cruft.json`` (``state_file``) with its answers replaced by this
    render's, and so are the private values it records (the template's, such as the
    ``__`` ones computed from the answers); its template and commit are kept (``template``,
    ``commit``, ``_template``, ``_commit``). ``None`` when the file is absent or holds no
    answers (``context.cookiecutter``).

    For a render from a template folder outside a git checkout, which :func:`cruft_state`
    cannot describe: the file still records the answers the project's files now follow,
    which pre_gen reads at the next ``-f`` rerender (``files_a_rerender_would_lose``).
    """
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        earlier = state["context"]["cookiecutter"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not isinstance(earlier, dict):
        return None
    kept = ("_template", "_commit")
    earlier.update(
        {
            key: value
            for key, value in answers.items()
            if not key.startswith("_") or (key in earlier and key not in kept)
        }
    )
    return state


def remove_rendered(paths, root, rendered):
    """Delete the files under ``paths`` that are in ``rendered`` (all when it is ``None``),
    then the folders under ``paths`` that this left empty. Returns the files deleted."""
    deleted = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and (
                rendered is None or file.relative_to(root).as_posix() in rendered
            ):
                file.unlink()
                deleted.append(file)
        if path.is_dir():
            for folder in sorted((p for p in path.rglob("*") if p.is_dir()), reverse=True):
                if not any(folder.iterdir()):
                    folder.rmdir()
            if not any(path.iterdir()):
                path.rmdir()
    return deleted


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
    """Remove, under the current folder, the optional files the answers switch off, then
    give the surviving variant files their shared names."""
    answers = json.loads(answers_json)
    manifest = answers["_optional_files"]
    chosen = {option: answers[option] for option in manifest}
    root = Path.cwd()
    remove_rendered(paths_to_remove(manifest, chosen, root), root, template_files(answers))
    rename_variants(answers.get("_variant_files", {}), root)
    if "_repo_dir" not in answers:  # cruft's render: cruft writes .cruft.json itself
        return 0
    state = cruft_state(answers, template_folder(answers))
    if state is None:
        state = with_these_answers(root / ".cruft.json", answers)
    if state is not None:
        text = json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": "))
        (root / ".cruft.json").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
