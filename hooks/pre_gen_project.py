"""Pre-generation: refuse bad answers before any file is written.

Input: the answers, rendered once into ``ANSWERS_JSON`` below by cookiecutter's
``tojson`` filter. That filter escapes ``'`` (and ``<``, ``>``, ``&``) and JSON
escapes newlines, so the rendered text never contains a quote that could end the
raw string: answers reach this code as data, never as Python source.

Output: nothing when every answer is valid. Otherwise one line per failure on
stderr, ``<variable>=<value>: <rule>``, and exit status 1; cookiecutter then
removes the project folder it created for this run.

The checks are small pure functions that return ``None`` (valid) or the rule the
value breaks. The unrendered file is valid Python, so the tests import it as is.
Variables a check names but the answers do not have are skipped.

Names of the packages a rendered project installs, its dependencies and theirs, are refused
too: they are read from the template's hooks/installed_names.txt (written from rendered
projects' venvs by scripts/installed_names.py; the template folder is found through
``_repo_dir``, or ``_template`` when that is a folder; when neither is, as under cruft with
a remote template, that check is skipped).
cookiecutter passes a local template path as typed (``cookiecutter .``) and runs this hook
in the new project's folder, so a relative path is also looked up from ``$PWD``, the
working directory of the shell that started cookiecutter.
A value that carries URL credentials is shown with them replaced by ``***``.

Over an existing project (``cookiecutter -f``), valid answers are refused too when a file of
the user's own sits where the template renders a file these answers switch off: the render
would overwrite it and the post-generation hook delete it. The project's ``.cruft.json``
(the answers of the render that made it) tells such a file from one a render left there.
"""

from __future__ import annotations

import importlib.util
import json
import keyword
import os
import pkgutil
import re
import sys
import sysconfig
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

ANSWERS_JSON = r'{{ cookiecutter | tojson }}'  # fmt: skip

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
MAX_SLUG = 64
# With online serving, the settings name each environment's serving endpoint
# <slug>-<environment>, and Databricks takes at most 63 characters there; the longest
# environment name is "staging".
MAX_SLUG_WITH_SERVING = 63 - len("-staging")
PACKAGE = re.compile(r"[a-z_][a-z0-9_]*")
# The rendered code imports the package by name and keeps within ruff's 100-column lines for
# names of up to 32 characters (the generator's tests/test_render_matrix.py renders every
# combination of options with a name this long and lints it).
MAX_PACKAGE = 32
# The rendered project's own top-level Python packages (folders with an __init__.py beside
# src/): its tests import the package by name, and pytest puts the project folder first
# on sys.path, so a package of the same name would be shadowed by that folder.
PROJECT_PACKAGES = ("tests",)
# The standard library's test suite, which sys.stdlib_module_names leaves out, as it does the
# test and example modules beside it (read from the folders by stdlib_folder_modules). Named
# here too: some Pythons that render (Debian's) ship without it, the project's may have it.
STDLIB_TEST_SUITE = "test"
# The tools that install and build the project, present in the environments it runs in (a
# venv has pip, and setuptools up to Python 3.11; Databricks runtimes have all of them; the
# bundle builds the wheel with `python -m build`): distribution name -> import names.
INSTALL_TOOLS = {
    "pip": ("pip",),
    "setuptools": ("setuptools", "pkg_resources", "_distutils_hack"),
    "wheel": ("wheel",),
    "build": ("build",),
}
UC_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Plain scalars of letters, digits, "_" and "-" that YAML reads as no string: booleans and
# null of YAML 1.1 (PyYAML, which loads conf/config.yml) and 1.2 (the Databricks CLI, which
# loads databricks.yml), integers (with "_" in 1.1; 0x, 0o, 0b), exponent floats, dates.
YAML_NOT_A_STRING = re.compile(
    r"yes|no|true|false|on|off|null"
    r"|[0-9][0-9_]*|0x[0-9a-f_]+|0o[0-7]+|0b[01_]+|[0-9]+e-?[0-9]+"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}",
    re.IGNORECASE,
)
# The answers written unquoted, as a whole YAML value, into databricks.yml, resources/ and
# conf/config.yml (bundle name, experiment, wheel package, schema, catalogs).
YAML_VALUES = ("project_slug", "package_name", "schema_name")
GIT_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
# What a branch name may hold beyond git's rules: the CI files write it into YAML flow lists
# (where "," splits it and "@", "!", "&", "{" break or retype it), quoted conditions (where
# ' or " ends the string) and GitHub's branch filters (where "+" and "!" are pattern syntax).
CI_BRANCH = re.compile(r"[A-Za-z0-9._/-]+")
# A host answer's text up to its last "@", after the scheme if it has one (``https:/``,
# ``https://``): a password may hold "@", "/", "?", "#" or a newline unescaped,
# or the scheme be mistyped, so the shown value hides more than the user information
# rather than less.
URL_CREDENTIALS = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*:/{1,2})?.*@", re.DOTALL)


def one_line(value):
    """Any free-text answer: one line of printable text (no newline, tab or control character)."""
    if CONTROL.search(value):
        return "must be one line without control characters (newline, tab, ...)"
    return None


def project_name(value):
    """A name for people; it also heads the package docstring, so no quote or backslash."""
    if not any(ch.isalnum() for ch in value):
        return "must contain at least one letter or digit"
    if '"' in value or "\\" in value:
        return 'must not contain " or \\ (it is written into a Python docstring)'
    if len(value) > 90:
        return "must be at most 90 characters"
    return None


def project_slug(value):
    """Folder, bundle, repo name: lowercase, digits, inner hyphens; no pip; 64 max, 55 with serving.

    pip stands for every install tool (:data:`INSTALL_TOOLS`: pip, setuptools, wheel, build).
    The serving limit needs another answer: :func:`slug_fits_the_endpoint` checks it."""
    if not SLUG.fullmatch(value):
        return (
            "must be lowercase letters, digits and hyphens, starting and ending with a "
            "letter or digit (e.g. churn-model)"
        )
    if len(value) > MAX_SLUG:
        return f"must be at most {MAX_SLUG} characters"
    if normalized(value) in INSTALL_TOOLS:
        return (
            "must not be the name of a tool that installs or builds the project "
            f"({', '.join(INSTALL_TOOLS)}): installing the project would replace it"
        )
    return None


def slug_fits_the_endpoint(answers):
    """The ``project_slug=...: rule`` line when online serving is on and ``<slug>-staging``
    would be longer than the 63 characters of a serving endpoint name, else ``None``."""
    slug = answers.get("project_slug")
    # Off as the post-generation hook reads the manifest: only false (or "false").
    serving = answers.get("include_online_serving", False) not in (False, "false")
    if not serving or not isinstance(slug, str) or len(slug) <= MAX_SLUG_WITH_SERVING:
        return None
    if project_slug(slug):  # its own rule fails first and is reported on its own
        return None
    return (
        f"project_slug={slug!r}: must be at most {MAX_SLUG_WITH_SERVING} characters with "
        "include_online_serving (the serving endpoint <slug>-staging may have at most 63)"
    )


def stdlib_folder_modules():
    """Names of the top-level modules in this Python's standard-library folders (with
    ``lib-dynload``), and ``test``: a set of str. These folders come before the project on
    sys.path, so a package named as one of them would never be imported."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    found = pkgutil.iter_modules([str(stdlib), str(stdlib / "lib-dynload")])
    return {module.name for module in found} | {STDLIB_TEST_SUITE}


def package_name(value):
    """Import name: lowercase identifier; no keyword, standard-library, tests or pip; 32 at most.

    pip stands for every install tool (:data:`INSTALL_TOOLS`: pip, setuptools, wheel, build).

    Standard-library names: ``sys.stdlib_module_names``, :func:`stdlib_folder_modules`
    and ``test``. ``tests`` and any other of :data:`PROJECT_PACKAGES`, the project's own
    top-level packages. Install tools: the import names of :data:`INSTALL_TOOLS`.
    """
    if not PACKAGE.fullmatch(value):
        return (
            "must be a Python identifier of lowercase letters, digits and underscores, "
            "not starting with a digit (e.g. churn_model)"
        )
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return "must not be a Python keyword (pass e.g. package_name=class_model)"
    if value in sys.stdlib_module_names or value in stdlib_folder_modules():
        return "must not shadow a standard-library module of the same name"
    if any(value in imports for imports in INSTALL_TOOLS.values()):
        return (
            "must not be the import name of a tool that installs or builds the project "
            f"({', '.join(INSTALL_TOOLS)}): the package and the tool would shadow one another"
        )
    if value in PROJECT_PACKAGES:
        return (
            f"must not be the name of the project's own {value}/ folder (a Python package): "
            f"`import {value}` in its tests would load that folder instead"
        )
    if len(value) > MAX_PACKAGE:
        return (
            f"must be at most {MAX_PACKAGE} characters, for the project's code to keep within "
            "its 100-column lines (pass a shorter package_name=...)"
        )
    return None


def host_origin(value):
    """``scheme://host[:port]`` of a URL, lowercased, without path, query or fragment.

    ``https://adb-1.azuredatabricks.net/?o=1#job/2`` gives ``https://adb-1.azuredatabricks.net``.
    A value without ``://`` is returned stripped but otherwise unchanged. cookiecutter.json
    derives the value templates use with the same reduction, written in Jinja.
    """
    value = value.strip()
    if "://" not in value:
        return value
    scheme, rest = value.split("://", 1)
    host = rest.split("/")[0].split("?")[0].split("#")[0]
    return f"{scheme.lower()}://{host.lower()}"


def workspace_host(value):
    """A workspace URL: https, a host name, no credentials. Path, query and fragment are dropped."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() != "https":
        return "must be an https URL, e.g. https://adb-123.4.azuredatabricks.net"
    credentials = "must not carry a user name or password (CI signs in; drop the part before @)"
    if "@" in parts.netloc:
        return credentials
    if not parts.hostname or "." not in parts.hostname:
        # A password holding "/", "?" or "#" ends urlsplit's netloc before its "@"; an "@"
        # after a host name (a path such as /Users/alice@example.com) is accepted.
        host = "must name a host, e.g. https://adb-123.4.azuredatabricks.net"
        return credentials if "@" in value else host
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "must have a numeric port, if any"
    return None


def git_branch(value):
    """A branch name git accepts (``git check-ref-format --branch``) of letters, digits, - _ . /.

    Other characters git allows would break the CI files (see ``CI_BRANCH``)."""
    broken = (
        not value
        or GIT_REF_FORBIDDEN.search(value)
        or value.startswith(("-", "/"))
        or value.endswith(("/", ".", ".lock"))
        or ".." in value
        or "//" in value
        or "@{" in value
        or value in ("@", "HEAD")
        or any(part.startswith(".") for part in value.split("/"))
    )
    if broken:
        return (
            "must be a valid git branch name (not HEAD; no spaces, ~ ^ : ? * [ \\, '..', '@{', "
            "leading '-' or '.', trailing '/', '.' or '.lock')"
        )
    if not CI_BRANCH.fullmatch(value):
        return (
            "must hold only letters, digits and - _ . / (the CI files write it into YAML "
            "lists, quoted conditions and GitHub branch filters, which other characters break)"
        )
    return None


def uc_identifier(value):
    """A Unity Catalog name usable without backticks: letters, digits, underscores."""
    if not UC_IDENTIFIER.fullmatch(value) or len(value) > 255:
        return (
            "must be a Unity Catalog identifier: letters, digits and underscores, not "
            "starting with a digit, at most 255 characters (e.g. ml_prod)"
        )
    return None


def yaml_string(value):
    """Not a word or number YAML reads as a boolean, null, number or date (on, null, 2024).

    For the answers :func:`written_unquoted_into_yaml` names (``1e3``, ``0o17``,
    ``2024-01-31`` are refused too)."""
    if YAML_NOT_A_STRING.fullmatch(value):
        return (
            "must not be a word or number that YAML reads as a boolean, null, number or date "
            "(it is written unquoted into databricks.yml and conf/config.yml): add a letter or "
            "a word, e.g. project_slug=ml-on (package and schema names derive from it)"
        )
    return None


def written_unquoted_into_yaml(name):
    """Whether the answer ``name`` is written unquoted, as a whole value, into the YAML
    files (the slug, package, schema and catalog names), so :func:`yaml_string` applies."""
    return name in YAML_VALUES or "catalog" in name


def group_name(value):
    """A workspace group name: not blank."""
    if not value.strip():
        return "must name a group, e.g. users"
    return None


def author_name(value):
    """The author or owning team (pyproject.toml's authors): one printable line, not blank.

    Control characters are refused by the generic check (:func:`one_line`), run first."""
    if not value.strip():
        return (
            "must name the author or owning team (pyproject.toml's authors), e.g. ML Platform Team"
        )
    return None


def normalized(distribution):
    """A distribution name as pip compares them (PEP 503): ``Delta_Spark`` -> ``delta-spark``."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def template_folder(answers):
    """The template's folder (a Path holding the project template and hooks/), or ``None``
    when it is unknown.

    The folder is ``_repo_dir`` or ``_template``: absolute, or relative to this process's
    working directory or to ``$PWD`` (cookiecutter's own, where a relative path was typed).
    """
    bases = [Path.cwd()] + ([Path(os.environ["PWD"])] if os.environ.get("PWD") else [])
    folders = [answers.get(key) for key in ("_repo_dir", "_template")]
    # An absolute folder joined to either base is itself: each candidate is looked at once.
    candidates = dict.fromkeys(
        base / folder for folder in folders if isinstance(folder, str) and folder for base in bases
    )
    for candidate in candidates:
        if any(candidate.glob("*cookiecutter.project_slug*/pyproject.toml")):
            return candidate
    return None


def installed_names(answers):
    """{distribution name (PEP 503): its top-level import names (a tuple of str)} of every
    package a rendered project installs, read from the template's
    hooks/installed_names.txt (``name import ...`` lines, ``#`` comments); ``{}`` when the
    template folder is unknown (:func:`template_folder`)."""
    folder = template_folder(answers)
    if folder is None:
        return {}
    text = (folder / "hooks" / "installed_names.txt").read_text(encoding="utf-8")
    rows = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    return {name: tuple(imports) for name, *imports in rows}


def earlier_answers(root):
    """The answers (a dict) of the render that made the project in the folder ``root``, read
    from its ``.cruft.json``; ``None`` when it has none (a new project) or it is unreadable."""
    try:
        state = json.loads((root / ".cruft.json").read_text(encoding="utf-8"))
        return dict(state["context"]["cookiecutter"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def files_a_rerender_would_lose(answers, root):
    """Files of the user's own in ``root`` that ``cookiecutter -f`` would overwrite and the
    post-generation hook then delete: a dict, in path order, from each '/'-separated path
    (relative to ``root``) to the answer that removes it (``option=value``).

    Such a file sits where the template renders a file that ``answers`` switch off, and
    the answers of the render that made the project (``.cruft.json``) switched it off too
    (an option that render did not have counts as on), so it left nothing there. The
    variant files' shared names (``README.md`` of a rag project) are not among them.
    Empty when ``root`` has no ``.cruft.json`` or the template folder is unknown. Reuses
    the post-generation hook's ``template_files`` and ``paths_to_remove``, imported from
    the template folder.
    """
    earlier = earlier_answers(root)
    folder = template_folder(answers)
    manifest = answers.get("_optional_files")
    if earlier is None or folder is None or not manifest:
        return {}
    spec = importlib.util.spec_from_file_location(
        "post_gen", folder / "hooks" / "post_gen_project.py"
    )
    post_gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(post_gen)
    rendered = post_gen.template_files(answers) or set()

    def switched_off(options):
        """Each rendered file present that the answers ``options`` switch off -> the answer
        (``option=value``) that does."""
        found = {}
        for option, value in options.items():
            paths = post_gen.paths_to_remove({option: manifest[option]}, {option: value}, root)
            for path in paths:
                for file in [path] if path.is_file() else path.rglob("*"):
                    name = file.relative_to(root).as_posix()
                    if file.is_file() and name in rendered:
                        found.setdefault(name, f"{option}={value}")
        return found

    now = switched_off({option: answers[option] for option in manifest})
    # An option the earlier render did not have switched nothing off then.
    before = switched_off({option: earlier[option] for option in manifest if option in earlier})
    shared_names = {
        PurePosixPath(path).with_name(name).as_posix()
        for pattern, name in answers.get("_variant_files", {}).items()
        for path in rendered
        if fnmatch(path, pattern)
    }
    return {path: now[path] for path in sorted((now.keys() & before.keys()) - shared_names)}


def shadows_a_dependency(name, value, installed):
    """The rule a project slug or package name breaks by taking the name of a package the
    project installs, or None. ``installed`` is :func:`installed_names`'s dict."""
    if name == "package_name":
        owners = sorted(d for d, imports in installed.items() if value in imports)
        if owners:
            return (
                f"must not be the import name of a package the project installs "
                f"({', '.join(owners)}; hooks/installed_names.txt): `import {value}` would "
                "load this package instead"
            )
    if name == "project_slug" and normalized(value) in installed:
        return (
            "must not be the name of a package the project installs "
            "(hooks/installed_names.txt): installing the project would replace that package"
        )
    return None


def shown(name, value):
    """``value`` of variable ``name`` as an error line may show it: for a ``*_host``
    answer, everything before its last ``@`` (after the scheme) replaced by ``***``."""
    return URL_CREDENTIALS.sub(r"\1***@", value) if check_for(name) is workspace_host else value


def check_for(name):
    """The check for the variable ``name``, or ``None`` when only the generic one applies."""
    exact = {
        "project_name": project_name,
        "project_slug": project_slug,
        "package_name": package_name,
        "author_name": author_name,
        "read_user_group": group_name,
        "schema_name": uc_identifier,
    }
    if name in exact:
        return exact[name]
    if name.endswith("_host"):
        return workspace_host
    if name.endswith("_branch"):
        return git_branch
    if "catalog" in name:
        return uc_identifier
    return None


def same(name, first, second):
    """Whether two answers of the kind of variable ``name`` name the same thing: Unity
    Catalog identifiers (catalogs, schemas) compared without case, as Unity Catalog stores
    names in lower case; git branches too; other answers exactly. Which kinds ignore case,
    and why, is :func:`case_clash`'s."""
    if case_clash(name) is not None:
        return first.lower() == second.lower()
    return first == second


def case_clash(name):
    """Why answers of the kind of variable ``name`` that differ only in case are one name
    (a str), or ``None`` when case tells them apart."""
    if check_for(name) is uc_identifier:
        return "Unity Catalog ignores case"
    if check_for(name) is git_branch:
        return (
            "git keeps a branch as a file under refs/heads, and the file systems of macOS "
            "and Windows ignore case"
        )
    return None


def nested_branches(name, first, second):
    """Whether ``first`` and ``second``, answers of the kind of variable ``name``, are git
    branches one inside the other (``main`` and ``main/x``, or ``Main/x``: case is ignored,
    see :func:`case_clash`): git keeps a branch as a file under ``refs/heads``, so no
    repository can hold both."""
    if check_for(name) is not git_branch:
        return False
    first, second = first.lower(), second.lower()
    return first.startswith(second + "/") or second.startswith(first + "/")


def problems(answers):
    """Every failure of ``answers`` (dict of cookiecutter answers) as ``name=value: rule`` lines.

    Public answers that are strings get the generic one-line check, their own check, the
    YAML check (:func:`yaml_string`) when :func:`written_unquoted_into_yaml`, and the
    installed-package check (:func:`shadows_a_dependency`); private ones (leading ``_``)
    are skipped. Pairs listed in
    ``_must_differ`` must not name the same thing (:func:`same`), nor be branches one
    inside the other (:func:`nested_branches`), when both are answered.
    Values are shown through ``shown`` (no URL credentials).
    """
    installed = installed_names(answers)
    lines = []
    for name, value in answers.items():
        if name.startswith("_") or not isinstance(value, str):
            continue
        in_yaml = yaml_string if written_unquoted_into_yaml(name) else None
        checks = (
            one_line,
            check_for(name),
            in_yaml,
            lambda v, n=name: shadows_a_dependency(n, v, installed),
        )
        for check in checks:
            rule = check(value) if check else None
            if rule:
                lines.append(f"{name}={shown(name, value)!r}: {rule}")
                break
    endpoint = slug_fits_the_endpoint(answers)
    if endpoint:
        lines.append(endpoint)
    for first, second in answers.get("_must_differ", []):
        if first not in answers or second not in answers:
            continue
        pair = f"{second}={shown(second, answers[second])!r}: must differ from "
        pair += f"{first}={shown(first, answers[first])!r}"
        if same(first, answers[first], answers[second]):
            case = f" ({case_clash(first)})" if answers[first] != answers[second] else ""
            lines.append(pair + case)
        elif nested_branches(first, answers[first], answers[second]):
            lines.append(pair + " (one inside the other: git cannot keep both)")
    return lines


def main(answers_json=ANSWERS_JSON, root=None):
    """Validate the rendered answers, then, over an existing project (``root``, default the
    current folder, where cookiecutter runs this hook), look for files of the user's own
    that the render would lose (:func:`files_a_rerender_would_lose`). Print the failures
    or those files and return 1, or return 0."""
    answers = json.loads(answers_json)
    failures = problems(answers)
    for line in failures:
        print(f"ERROR: {line}", file=sys.stderr)
    if failures:
        print(f"ERROR: {len(failures)} invalid answer(s); nothing was generated.", file=sys.stderr)
        return 1
    lost = files_a_rerender_would_lose(answers, Path.cwd() if root is None else root)
    for path, answer in lost.items():
        print(
            f"ERROR: {path}: a file of yours where the template writes one that {answer} "
            "removes (the render would overwrite it, then delete it): move it away, then "
            "render again",
            file=sys.stderr,
        )
    if lost:
        print(
            f"ERROR: {len(lost)} file(s) of yours in the way; nothing was generated.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
