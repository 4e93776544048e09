"""Generator inputs: the pre_gen checks, the derivations in cookiecutter.json, and how a
refused answer stops cookiecutter before any file is written.

The checks are tested as pure functions (the hook file imported unrendered), then through
cookiecutter itself for the variables this template has.
"""

from __future__ import annotations

import copy
import json
import os
import pkgutil
import runpy
import subprocess
import sys
import sysconfig
import tomllib
import venv
from collections import OrderedDict
from importlib import metadata
from pathlib import Path, PurePosixPath

import pytest
import yaml
from conftest import (
    BOOLEAN_OPTIONS,
    CHOICE_OPTIONS,
    CONTEXT,
    REPO,
    declared_requirements,
    load_hook,
    render,
)
from cookiecutter.environment import StrictEnvironment
from cookiecutter.exceptions import FailedHookException
from cookiecutter.generate import apply_overwrites_to_context
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config
from packaging.requirements import Requirement

pre_gen = load_hook("pre_gen_project")

# (check, valid values, invalid values). Every invalid value must be refused with a rule.
CASES = [
    (
        pre_gen.project_name,
        ["Flight Delays", "Modèle Prix", "2024 Churn Model", "example.com", "O'Brien's model"],
        ["", "   ", "---", 'The "best" model', "back\\slash", "x" * 91],
    ),
    (
        pre_gen.project_slug,
        ["churn-model", "2024-churn-model", "a", "modele-prix", "x" * 64],
        ["", "Churn", "churn_model", "-churn", "churn-", "a/b", "../up", "a b", "é", "x" * 65]
        + ["pip", "setuptools", "wheel", "build"],
    ),
    (
        pre_gen.package_name,
        ["churn_model", "pkg_2024_churn_model", "_private", "modele_prix", "p", "x" * 32],
        ["", "2024_churn", "churn-model", "Churn", "class", "match", "json", "types", "modèle"]
        + ["x" * 33, "test", "pip", "setuptools", "pkg_resources", "wheel", "build"],
    ),
    (
        pre_gen.workspace_host,
        [
            "https://adb-123.4.azuredatabricks.net",
            "https://dbc-1a2b.cloud.databricks.com/?o=123#job/456",
            "https://1234.5.gcp.databricks.com/",
            "HTTPS://Adb-1.azuredatabricks.net:443",
        ],
        [
            "",
            "adb-123.4.azuredatabricks.net",
            "http://adb-123.4.azuredatabricks.net",
            "ftp://adb-1.azuredatabricks.net",
            "https://",
            "https://localhost",
            "https://user:pw@adb-1.azuredatabricks.net",
            "https://adb-1.azuredatabricks.net:port",
        ],
    ),
    (
        pre_gen.git_branch,
        ["main", "release", "release/1.0", "feature/x-y_z", "v1.0.0"],
        [
            "",
            "my branch",
            "a..b",
            "-main",
            "main/",
            "main.",
            "x.lock",
            "a//b",
            "@",
            "HEAD",  # git branch HEAD: "'HEAD' is not a valid branch name"
            "a@{1}",
            ".hidden",
            "a/.b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[b",
            "a\\b",
            *["rel,v2", "it's", 'say"hi', "@next", "a+b", "!x", "a&b", "x{y}", "a$b", "é"],
        ],
    ),
    (
        pre_gen.uc_identifier,
        ["main", "ml_prod", "_staging", "Catalog1"],
        ["", "ml-prod", "1catalog", "ml prod", "a.b", "`x`", "x" * 256],
    ),
    (pre_gen.group_name, ["users", "ml-readers", "Data Scientists"], ["", "   "]),
    (pre_gen.author_name, ["ML Platform Team", "A", "O'Brien"], ["", " ", "\u3000"]),
    (
        pre_gen.yaml_string,
        ["churn", "2024-churn", "pkg_2024", "model-2024", "ml_on", "y", "n", "e3", "x1", "dev"],
        [
            *["2024", "1_000", "017", "0x1f", "0b101", "2024-01-31", "1e3", "1e-3", "0o17"],
            *["on", "On", "OFF", "yes", "No", "true", "False", "null", "NULL"],
        ],
    ),
    (pre_gen.one_line, ["plain", 'quotes " \' and \\ and """'], ["a\nb", "tab\there", "\x00"]),
]
CASE_IDS = [check.__name__ for check, _, _ in CASES]


def bad_input_count() -> int:
    """How many invalid values the unit tables try (reported in the template README)."""
    return sum(len(bad) for _, _, bad in CASES)


@pytest.mark.parametrize(("check", "good", "bad"), CASES, ids=CASE_IDS)
def test_checks_accept_valid_and_refuse_invalid(check, good, bad):
    assert [v for v in good if check(v) is not None] == []
    accepted = [v for v in bad if check(v) is None]
    assert accepted == [], f"{check.__name__} accepted {accepted}"


# Plain scalars of the YAML 1.2 core schema (the Databricks CLI's) that PyYAML, YAML 1.1,
# reads as strings: the YAML check refuses them too.
YAML_12_ONLY = {"1e3", "1e-3", "0o17"}


def test_the_yaml_check_refuses_what_pyyaml_misreads_and_accepts_what_it_reads_back():
    """Each value of the YAML check's table, written unquoted as conf/config.yml writes
    answers, is read back by PyYAML (the package's settings loader) as itself exactly when
    the check accepts it; the refused values PyYAML does read as text are YAML 1.2 numbers."""
    good, bad = next((g, b) for check, g, b in CASES if check is pre_gen.yaml_string)
    for value in [*good, *bad]:
        read = yaml.safe_load(f"schema: {value}  # comment\n")["schema"]
        assert (read == value) == (pre_gen.yaml_string(value) is None) or value in YAML_12_ONLY
    assert {v for v in bad if yaml.safe_load(v) == v} == YAML_12_ONLY


def test_problem_lines_name_variable_value_and_rule():
    lines = pre_gen.problems(
        {
            "project_name": "Flight Delays",
            "package_name": "class",
            "release_branch": "my branch",
            "catalog_prod": "ml-prod",
            "databricks_prod_workspace_host": "http://x.cloud.databricks.com",
            "description": "two\nlines",
        }
    )
    assert len(lines) == 5
    assert lines[0].startswith("package_name='class': must not be a Python keyword")
    assert lines[1].startswith("release_branch='my branch': must be a valid git branch name")
    assert lines[2].startswith("catalog_prod='ml-prod': must be a Unity Catalog identifier")
    assert lines[3].startswith("databricks_prod_workspace_host='http://x.cloud.databricks.com'")
    assert lines[4].startswith("description='two\\nlines': must be one line")


def test_variables_not_in_the_answers_are_skipped():
    assert pre_gen.problems({"project_name": "Flight Delays"}) == []


def test_must_differ_pairs_come_from_cookiecutter_json():
    pairs = CONTEXT["_must_differ"]
    assert ["default_branch", "release_branch"] in pairs
    answers = {"_must_differ": pairs, "default_branch": "main", "release_branch": "main"}
    assert pre_gen.problems(answers) == [
        "release_branch='main': must differ from default_branch='main'"
    ]
    answers["release_branch"] = "release"
    assert pre_gen.problems(answers) == []


def test_branches_that_differ_only_in_case_are_one_branch():
    """git keeps a branch as the file refs/heads/<name>: on macOS or Windows, whose file
    systems ignore case, ``Main`` and ``main`` are one file, so one branch."""
    answers = {"_must_differ": CONTEXT["_must_differ"], "default_branch": "main"}
    answers["release_branch"] = "Main"
    assert pre_gen.problems(answers) == [
        "release_branch='Main': must differ from default_branch='main' (git keeps a branch "
        "as a file under refs/heads, and the file systems of macOS and Windows ignore case)"
    ]


@pytest.mark.parametrize(
    ("default", "release"),
    [("main", "main/v2"), ("release/main", "release"), ("Main", "main/v2"), ("rel/x", "REL")],
)
def test_branches_one_inside_the_other_are_refused(default, release):
    """git keeps ``main`` as the file refs/heads/main: a branch ``main/v2`` cannot exist
    next to it (``git branch main/v2``: "cannot lock ref"), so CI could never see both;
    nor can ``Main/v2`` on the case-insensitive file systems of macOS and Windows."""
    answers = {"_must_differ": CONTEXT["_must_differ"]}
    answers |= {"default_branch": default, "release_branch": release}
    assert pre_gen.problems(answers) == [
        f"release_branch={release!r}: must differ from default_branch={default!r} "
        "(one inside the other: git cannot keep both)"
    ]
    answers["release_branch"] = f"{default}-v2"  # a sibling, not a folder: git keeps both
    assert pre_gen.problems(answers) == []


def test_catalogs_that_differ_only_in_case_are_one_catalog():
    """Unity Catalog stores names in lower case: ``Staging`` and ``staging`` are one catalog."""
    answers = {"_must_differ": CONTEXT["_must_differ"], "catalog_staging": "staging"}
    answers["catalog_prod"] = "Staging"
    assert pre_gen.problems(answers) == [
        "catalog_prod='Staging': must differ from catalog_staging='staging' "
        "(Unity Catalog ignores case)"
    ]
    answers["catalog_prod"] = "prod"
    assert pre_gen.problems(answers) == []


def test_defaults_pass_every_check():
    answers = prompt_for_config({"cookiecutter": copy.deepcopy(CONTEXT)}, no_input=True)
    assert pre_gen.problems(dict(answers)) == []


def derive(**answers) -> dict:
    """The answers cookiecutter computes from ``answers`` over the defaults, without rendering."""
    context = OrderedDict(copy.deepcopy(CONTEXT))
    for key, value in answers.items():
        context[key] = value
    return dict(prompt_for_config({"cookiecutter": context}, no_input=True))


@pytest.mark.parametrize(
    ("name", "slug", "package", "refused"),
    [
        ("2024 Churn Model", "2024-churn-model", "pkg_2024_churn_model", None),
        ("churn-model", "churn-model", "churn_model", None),
        ("Modèle Prix", "modele-prix", "modele_prix", None),
        ("example.com", "example-com", "example_com", None),
        ("class", "class", "class", "package_name='class': must not be a Python keyword"),
        ("   ", "unnamed-project", "unnamed_project", "project_name='   ': must contain"),
    ],
    ids=["leading-digits", "hyphenated", "accented", "dotted", "keyword", "blank"],
)
def test_derivations_from_project_name(name, slug, package, refused):
    answers = derive(project_name=name)
    assert (answers["project_slug"], answers["package_name"]) == (slug, package)
    lines = pre_gen.problems(answers)
    if refused:
        assert len(lines) == 1 and lines[0].startswith(refused)
    else:
        assert lines == []


def with_answers(**answers) -> OrderedDict:
    """cookiecutter.json with ``answers`` set; new keys go before the derived ``__`` ones."""
    context = OrderedDict()
    for key, value in CONTEXT.items():
        if key.startswith("__databricks"):
            context.update((k, v) for k, v in answers.items() if k not in CONTEXT)
        context[key] = copy.deepcopy(answers.get(key, value))
    return context


@pytest.mark.parametrize(
    ("pasted", "origin"),
    [
        ("https://adb-123.4.azuredatabricks.net", "https://adb-123.4.azuredatabricks.net"),
        ("https://adb-123.4.azuredatabricks.net/", "https://adb-123.4.azuredatabricks.net"),
        (
            "https://adb-123.4.azuredatabricks.net/?o=123#job/456",
            "https://adb-123.4.azuredatabricks.net",
        ),
        ("  HTTPS://DBC-1.cloud.databricks.com/browse?o=1  ", "https://dbc-1.cloud.databricks.com"),
        ("https://x.gcp.databricks.com#frag", "https://x.gcp.databricks.com"),
    ],
)
def test_host_is_reduced_to_scheme_and_host(pasted, origin):
    assert pre_gen.host_origin(pasted) == origin
    assert pre_gen.workspace_host(pasted) is None
    answers = prompt_for_config(
        {
            "cookiecutter": with_answers(
                databricks_staging_workspace_host=pasted,
                databricks_prod_workspace_host=pasted,
            )
        },
        no_input=True,
    )
    assert answers["__databricks_staging_host"] == origin
    assert answers["__databricks_prod_host"] == origin


def test_derived_hosts_come_after_the_questions_they_reduce():
    """cookiecutter renders variables in file order: a derivation above its source sees ''."""
    keys = list(CONTEXT)
    for derived, source in [
        ("__databricks_staging_host", "databricks_staging_workspace_host"),
        ("__databricks_prod_host", "databricks_prod_workspace_host"),
    ]:
        assert source in CONTEXT[derived]
        if source in CONTEXT:
            assert keys.index(source) < keys.index(derived)


# --- through cookiecutter: refused answers stop the render and leave nothing behind ---

BAD_ANSWERS = [
    ({"project_name": "   "}, "project_name='   '"),
    ({"project_name": "class"}, "package_name='class'"),
    ({"project_name": "json"}, "package_name='json'"),
    ({"project_name": "Test"}, "package_name='test': must not shadow a standard-library module"),
    ({"project_name": "pip"}, "project_slug='pip': must not be the name of a tool that installs"),
    ({"project_name": 'My "Model"'}, "project_name='My \"Model\"'"),
    ({"project_slug": "Churn Model"}, "project_slug='Churn Model'"),
    ({"project_slug": "../escape"}, "project_slug='../escape'"),
    (
        {"project_slug": "x" * 56, "package_name": "x", "include_online_serving": True},
        f"project_slug='{'x' * 56}': must be at most 55 characters with include_online_serving",
    ),
    ({"package_name": "churn-model"}, "package_name='churn-model'"),
    ({"release_branch": "rel,v2"}, "release_branch='rel,v2': must hold only letters, digits"),
    ({"project_name": "2024"}, "project_slug='2024': must not be a word or number that YAML"),
    ({"catalog_test": "on"}, "catalog_test='on': must not be a word or number that YAML"),
    ({"schema_name": "null"}, "schema_name='null': must not be a word or number that YAML"),
    ({"package_name": "2024_churn"}, "package_name='2024_churn'"),
    (
        {"project_name": "Customer Lifetime Value Prediction Service"},
        "package_name='customer_lifetime_value_prediction_service': must be at most 32 characters",
    ),
    ({"description": "two\nlines"}, "description='two\\nlines'"),
    ({"author_name": "tab\tname"}, "author_name='tab\\tname'"),
    ({"author_name": ""}, "author_name='': must name the author or owning team"),
    ({"author_name": "   "}, "author_name='   ': must name the author or owning team"),
]


# Failures of these answers, when more than the one line: a bad slug or package name also
# makes the names derived from it fail (package_name and schema_name from the slug,
# schema_name from the package name).
DERIVED_FAILURES = {
    "project_slug='pip': must not be the name of a tool that installs": 2,  # and package_name
    "project_slug='Churn Model'": 3,
    "project_slug='../escape'": 3,
    "package_name='churn-model'": 2,
    "package_name='2024_churn'": 2,
}


@pytest.mark.parametrize(("answers", "line"), BAD_ANSWERS, ids=[a[1] for a in BAD_ANSWERS])
def test_bad_answer_is_refused_before_any_file_is_written(tmp_path, capfd, answers, line):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FailedHookException):
        render(out, **answers)
    err = capfd.readouterr().err.splitlines()
    assert f"ERROR: {line}" in "\n".join(err)
    count = DERIVED_FAILURES.get(line, 1)
    assert len([e for e in err[:-1] if e.startswith("ERROR: ")]) == count
    assert err[-1] == f"ERROR: {count} invalid answer(s); nothing was generated."
    assert list(out.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_every_module_of_the_standard_library_folder_is_refused_as_package_name():
    """What this Python installs in its standard-library folders (``test``, its test suite,
    included, which ``sys.stdlib_module_names`` leaves out) comes before the project on
    sys.path: each module name that is a valid package name is refused."""
    # The .py modules' folder and the extension modules' (some Pythons, Debian's, build
    # select and others into the interpreter, and may ship without the test suite).
    folders = {Path(os.__file__).parent, Path(sysconfig.get_config_var("DESTSHARED") or ".")}
    paths = [path for folder in folders if folder.is_dir() for path in folder.iterdir()]
    names = {p.name.split(".")[0] for p in paths if p.is_file() or (p / "__init__.py").is_file()}
    candidates = sorted(n for n in names if pre_gen.PACKAGE.fullmatch(n))
    assert "json" in candidates  # the folders were read
    assert pre_gen.package_name("test") is not None  # refused where the suite is not shipped
    assert [n for n in candidates if pre_gen.package_name(n) is None] == []


def test_the_install_tools_are_what_a_fresh_venv_installs(tmp_path):
    """A venv made by this Python holds install tools only: its top-level modules beside
    the ``*.dist-info`` folders are import names of :data:`INSTALL_TOOLS` (pip here, and
    setuptools up to Python 3.11), each refused as a package name."""
    pytest.importorskip("ensurepip", reason="this Python cannot make a venv with pip")
    venv.create(tmp_path / "venv", with_pip=True)
    base = str(tmp_path / "venv")
    site = sysconfig.get_path("purelib", vars={"base": base, "platbase": base})
    modules = {m.name for m in pkgutil.iter_modules([str(site)])}
    assert "pip" in modules
    tools = {name for imports in pre_gen.INSTALL_TOOLS.values() for name in imports}
    assert modules <= tools, modules - tools
    assert [m for m in modules if pre_gen.package_name(m) is None] == []


def test_project_folder_exists_when_pre_gen_runs_and_is_removed_after_a_refusal(tmp_path):
    """With keep_project_on_failure the empty folder stays: cookiecutter made it before pre_gen."""
    with pytest.raises(FailedHookException):
        cookiecutter(
            str(REPO),
            no_input=True,
            output_dir=str(tmp_path),
            extra_context={"project_name": "class"},
            keep_project_on_failure=True,
        )
    assert [p.name for p in tmp_path.iterdir()] == ["class"]
    assert list((tmp_path / "class").iterdir()) == []


def via_command_line(option, text):
    """The value cookiecutter gives ``option`` passed as ``option=text`` on the command line."""
    context = copy.deepcopy(CONTEXT)
    apply_overwrites_to_context(context, {option: text})
    return context[option]


@pytest.mark.parametrize("option", BOOLEAN_OPTIONS)
@pytest.mark.parametrize(
    ("text", "expected"),
    [("false", False), ("no", False), ("0", False), ("False", False), ("off", False)]
    + [("true", True), ("yes", True), ("1", True), ("Y", True), ("on", True)],
)
def test_boolean_strings_from_the_command_line(option, text, expected):
    assert via_command_line(option, text) is expected


@pytest.mark.parametrize("option", sorted(set(BOOLEAN_OPTIONS) & set(CONTEXT["_optional_files"])))
def test_boolean_no_switches_its_optional_files_off(tmp_path, option):
    project = render(tmp_path, **{option: "no"})
    by_value = CONTEXT["_optional_files"][option]
    # a variant kept by "no" takes its shared name, which a "true" pattern may also name
    kept = {
        pattern: str(PurePosixPath(pattern).with_name(CONTEXT["_variant_files"][pattern]))
        if pattern in CONTEXT["_variant_files"]
        else pattern
        for pattern in by_value.get("false", [])
    }
    switched_off = [p for p in by_value.get("true", []) if p not in kept.values()]
    left = [str(path) for pattern in switched_off for path in project.glob(pattern)]
    assert left == []
    for pattern, name in kept.items():  # files that only the "no" answer keeps
        assert list(project.glob(name)), pattern
        assert not list(project.glob(pattern)) or pattern == name, pattern
    assert (project / "pyproject.toml").is_file()


@pytest.mark.parametrize("option", BOOLEAN_OPTIONS)
def test_unknown_boolean_is_refused_naming_the_variable(tmp_path, option):
    with pytest.raises(ValueError, match=f"maybe provided for variable {option}"):
        render(tmp_path, **{option: "maybe"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", CHOICE_OPTIONS)
def test_invalid_choice_is_refused_listing_the_choices(tmp_path, option):
    wrong = str(CONTEXT[option][-1]).upper() + "X"
    with pytest.raises(ValueError) as refused:
        render(tmp_path, **{option: wrong})
    message = str(refused.value)
    assert option in message and wrong in message
    assert all(repr(choice) in message for choice in CONTEXT[option])
    assert list(tmp_path.iterdir()) == []


NASTY = 'Say "hi" \\ C:\\new\\table """triple""" \'single\' {braces} <b>&amp; é ☃'


def test_quotes_and_backslashes_render_verbatim(tmp_path):
    project = render(tmp_path, description=NASTY, author_name=NASTY)
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["description"] == NASTY
    assert meta["authors"] == [{"name": NASTY}]
    assert f"\n{NASTY}\n" in (project / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("hook", ["pre_gen_project", "post_gen_project"])
def test_hooks_receive_answers_as_data(tmp_path, hook):
    """Each hook, rendered as cookiecutter renders it, parses back the exact answers."""
    answers = derive(description=NASTY + "'''", author_name="x\\")
    answers["_optional_files"] = {}
    env = StrictEnvironment(context={"cookiecutter": answers})
    source = (REPO / "hooks" / f"{hook}.py").read_text(encoding="utf-8")
    rendered = env.from_string(source).render(cookiecutter=answers)
    script = tmp_path / f"{hook}.py"
    script.write_text(rendered, encoding="utf-8")
    module = runpy.run_path(str(script))  # parses as Python; main() does not run here
    assert json.loads(module["ANSWERS_JSON"]) == json.loads(json.dumps(answers))


@pytest.mark.parametrize("hook", ["pre_gen_project", "post_gen_project"])
def test_hooks_template_nothing_but_the_answers(hook):
    """The only Jinja in a hook is the one line that hands it the answers as JSON."""
    source = (REPO / "hooks" / f"{hook}.py").read_text(encoding="utf-8")
    assert source.count("{{") == 1 and "{%" not in source and "{#" not in source
    assert "ANSWERS_JSON = r'{{ cookiecutter | tojson }}'" in source


# --- names the project's own dependencies use, and credentials in URLs ---

# (package name, the distributions that install it): direct dependencies, then packages
# that only MLflow, Spark or scikit-learn bring (indirect dependencies).
DEPENDENCY_NAMES = [
    *[("yaml", "pyyaml"), ("mlflow", "mlflow, mlflow-skinny, mlflow-tracing")],
    *[("delta", "delta-spark"), ("sklearn", "scikit-learn"), ("pylab", "matplotlib")],
    *[("flask", "flask"), ("sqlalchemy", "sqlalchemy"), ("alembic", "alembic")],
    *[("docker", "docker"), ("requests", "requests"), ("joblib", "joblib")],
]
INSTALLS = "must not be the import name of a package the project installs"


@pytest.mark.parametrize(("package", "owners"), DEPENDENCY_NAMES)
def test_an_installed_packages_import_name_is_refused_as_package_name(
    tmp_path, capfd, package, owners
):
    """A package named ``flask`` would shadow (or be shadowed by) the Flask that MLflow's
    server imports: every package a rendered project's venv holds is refused, not only
    the direct dependencies."""
    with pytest.raises(FailedHookException):
        render(tmp_path, project_name="Delay Model", package_name=package)
    err = capfd.readouterr().err
    assert (
        f"ERROR: package_name='{package}': {INSTALLS} ({owners}; hooks/installed_names.txt): "
        f"`import {package}` would load this package instead"
    ) in err.splitlines()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["Scikit Learn", "Flask", "GitPython"])
def test_an_installed_distribution_name_is_refused_as_project_slug(tmp_path, capfd, name):
    with pytest.raises(FailedHookException):
        render(tmp_path, project_name=name)
    err = capfd.readouterr().err
    slug = name.lower().replace(" ", "-")
    assert (
        f"ERROR: project_slug='{slug}': must not be the name of a package the project installs "
        "(hooks/installed_names.txt): installing the project would replace that package"
    ) in err.splitlines()
    assert list(tmp_path.iterdir()) == []


def test_the_projects_own_tests_package_is_refused_as_package_name(tmp_path, capfd):
    """A project named "Tests" would get the package ``tests``, which its tests, importing
    it by name, could not load: pytest puts the project folder, with its tests/ package,
    first on sys.path."""
    with pytest.raises(FailedHookException):
        render(tmp_path, project_name="Tests")
    err = capfd.readouterr().err
    rule = "must not be the name of the project's own tests/ folder (a Python package)"
    assert f"ERROR: package_name='tests': {rule}" in err
    assert list(tmp_path.iterdir()) == []


def test_the_refused_own_package_names_are_the_rendered_top_level_packages(
    tmp_path, default_project
):
    for project in (default_project, render(tmp_path, use_case="rag")):
        packages = {init.parent.name for init in project.glob("*/__init__.py")}
        assert packages == set(pre_gen.PROJECT_PACKAGES), project


def _installed_here(requirements: list[str]) -> dict[str, set[str]]:
    """{normalized distribution name: top-level import names} of every distribution of
    this environment that ``requirements`` (PEP 508 strings) need, directly or through
    one another, with the markers evaluated here (requirements not installed here are
    left out)."""
    top_level: dict[str, set[str]] = {}
    for module, owners in metadata.packages_distributions().items():
        for owner in owners:
            top_level.setdefault(pre_gen.normalized(owner), set()).add(module)
    found: dict[str, set[str]] = {}
    seen = set()
    pending = [(Requirement(text), "") for text in requirements]
    while pending:
        requirement, extra = pending.pop()
        name = pre_gen.normalized(requirement.name)
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue
        found[name] = {m for m in top_level.get(name, ()) if m.isidentifier()}
        for wanted in ["", *requirement.extras]:
            pending += [(Requirement(text), wanted) for text in distribution.requires or []]
    return found


def test_the_installed_names_hold_what_the_rendered_requirements_install(default_project):
    """Every distribution the rendered project's requirements (runtime and extras) pull in
    here, directly or not, is in hooks/installed_names.txt with its top-level import names:
    this environment holds the same runtime stack as a rendered project's venv (the Spark
    tier installs projects against it)."""
    found = _installed_here(declared_requirements(default_project))
    assert {"mlflow", "flask", "sqlalchemy", "pyspark", "py4j"} <= found.keys(), sorted(found)
    installed = pre_gen.installed_names({"_repo_dir": str(REPO)})
    missing = {
        name: sorted(modules - set(installed.get(name, ())))
        for name, modules in found.items()
        if name not in installed or not modules <= set(installed[name])
    }
    assert missing == {}, (
        "hooks/installed_names.txt lacks what the requirements install now (an upstream "
        "release added a dependency or a module?): regenerate it with "
        "scripts/installed_names.py (its docstring says how)"
    )


def test_the_names_script_lists_each_distribution_of_a_venv_with_its_import_names(
    monkeypatch,
):
    """scripts/installed_names.py, run on this test environment's venv, writes a line per
    distribution, the PEP 503 name first, in the format the hook reads."""
    monkeypatch.syspath_prepend(str(REPO / "scripts"))
    script = runpy.run_path(str(REPO / "scripts" / "installed_names.py"))
    text = script["table"]([Path(sys.prefix)])
    lines = text.splitlines()
    assert "pyyaml _yaml yaml" in lines and "scikit-learn sklearn" in lines
    assert "cookiecutter cookiecutter" in lines  # cruft's, in this venv as in a project's
    rows = [line.split() for line in lines if not line.startswith("#")]
    assert [name for name, *_ in rows] == sorted(d.lower() for d, *_ in rows)
    assert len(rows) == len({dist.metadata["Name"] for dist in metadata.distributions()})


def test_the_rendered_settings_hold_names_to_the_hooks_identifier_rule(default_project):
    """A rendered project's settings (``settings_types.object_name``, for catalog, schema,
    table and model names) accept and refuse the same names as the hook's catalog and
    schema answers (``uc_identifier``), run in a process that imports the project."""
    good, bad = next((g, b) for check, g, b in CASES if check is pre_gen.uc_identifier)
    samples = [*good, "x" * 255, *bad, "données", "tab\there", "del\x7f", "a/b"]
    (module,) = default_project.glob("src/*/settings_types.py")
    script = (
        "import json, sys\n"
        f"from {module.parent.name}.settings_types import object_name\n"
        "def ok(name):\n"
        "    try:\n"
        "        object_name(name)\n"
        "    except ValueError:\n"
        "        return False\n"
        "    return True\n"
        "print(json.dumps([ok(name) for name in json.load(sys.stdin)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(samples),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(default_project / "src")},
        timeout=120,
    )
    accepted = json.loads(done.stdout)
    assert accepted == [pre_gen.uc_identifier(name) is None for name in samples]
    assert accepted.count(True) == len(good) + 1  # the good names of CASES and 255 x's


# Run in a process that imports the rendered project: the serving endpoint name of every
# environment of its packaged settings, as the settings loader ("module:function") reads them.
ENDPOINT_NAMES = """
import importlib, json, sys
from pathlib import Path
import yaml
package, loader = sys.argv[1:]
module, function = loader.split(":")
load = getattr(importlib.import_module(f"{package}.{module}"), function)
config = Path(importlib.import_module(package).__file__).parent / "conf" / "config.yml"
envs = yaml.safe_load(config.read_text(encoding="utf-8"))["environments"]
print(json.dumps({env: load(env).raw["serving"]["endpoint_name"] for env in envs}))
"""


@pytest.mark.parametrize(
    "use_case, loader",
    [("tabular", "config:load_settings"), ("rag", "rag.settings:load_rag_settings")],
)
def test_the_longest_slug_the_hook_takes_loads_in_every_environment(tmp_path, use_case, loader):
    """Boundary guard of the hook's limit with online serving: a project whose slug has
    that maximum length loads in every environment, and its longest endpoint name has
    exactly Databricks' 63 characters (one more is refused at load:
    tests/test_serving_endpoint.py in the rendered project)."""
    slug = "x" * pre_gen.MAX_SLUG_WITH_SERVING
    package = "x" * pre_gen.MAX_PACKAGE  # the slug's own would be refused: too long
    project = render(tmp_path, project_slug=slug, package_name=package, use_case=use_case)
    assert (project / "src" / package / "cli.py").is_file()
    done = subprocess.run(
        [sys.executable, "-c", ENDPOINT_NAMES, package, loader],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(project / "src")},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names = json.loads(done.stdout)
    assert {"local", "dev", "staging", "prod"} <= set(names)
    assert all(name.startswith(f"{slug}-") for name in names.values())
    assert max(len(name) for name in names.values()) == 63


@pytest.mark.parametrize(
    ("serving", "refused"), [(True, True), ("true", True), (False, False), ("false", False)]
)
def test_the_slug_limit_of_the_serving_endpoint_holds_only_with_online_serving(serving, refused):
    """``<slug>-staging`` names a serving endpoint (63 characters at most) only when the
    project has online serving; without it the slug may have the folder limit, 64."""
    answers = {"project_slug": "x" * 56, "include_online_serving": serving}
    lines = pre_gen.problems(answers)
    if refused:
        assert lines == [
            f"project_slug='{'x' * 56}': must be at most 55 characters with "
            "include_online_serving (the serving endpoint <slug>-staging may have at most 63)"
        ]
    else:
        assert lines == []
    assert pre_gen.problems({**answers, "project_slug": "x" * 55}) == []
    assert pre_gen.problems({**answers, "project_slug": "x" * 65}) == [
        f"project_slug='{'x' * 65}': must be at most 64 characters"
    ]


def test_a_relative_template_path_refuses_a_dependency_name_too(tmp_path, capfd, monkeypatch):
    """`cookiecutter .` (as `make demo` runs it): cookiecutter passes the path as typed and
    runs the hook in the new project's folder; the hook finds the template from $PWD, which
    the shell that started cookiecutter set to its working directory."""
    monkeypatch.chdir(REPO.parent)
    monkeypatch.setenv("PWD", str(REPO.parent))
    with pytest.raises(FailedHookException):
        cookiecutter(
            REPO.name,
            no_input=True,
            output_dir=str(tmp_path),
            extra_context={"project_name": "Delay Model", "package_name": "yaml"},
        )
    err = capfd.readouterr().err
    assert f"ERROR: package_name='yaml': {INSTALLS} (pyyaml;" in err
    assert list(tmp_path.iterdir()) == []


def test_without_the_template_folder_only_the_dependency_check_is_skipped():
    """cruft with a remote template gives the hook no folder to read pyproject.toml from."""
    assert pre_gen.problems({"package_name": "yaml"}) == []
    assert pre_gen.problems({"package_name": "json"}) != []


PASSWORD = "s3cr3t-Pa55"


CREDENTIALS = "must not carry a user name or password (CI signs in; drop the part before @)"
HOST = "adb-1.1.azuredatabricks.net/?o=1"


@pytest.mark.parametrize(
    ("host", "shown", "rule"),
    [
        (f"https://alice:{PASSWORD}@{HOST}", f"https://***@{HOST}", CREDENTIALS),
        (f"https://alice:p@ss@{HOST}", f"https://***@{HOST}", CREDENTIALS),
        (f"https://alice:pa/ss@{HOST}", f"https://***@{HOST}", CREDENTIALS),
        (f"https://alice:pa#ss@{HOST}", f"https://***@{HOST}", CREDENTIALS),
        (f"https://alice:pa?ss@{HOST}", f"https://***@{HOST}", CREDENTIALS),
        (f"alice:{PASSWORD}@{HOST}", f"***@{HOST}", "must be an https URL"),
        (f"https:/alice:{PASSWORD}@{HOST}", f"https:/***@{HOST}", CREDENTIALS),
        (f"https://alice:pa\nss@{HOST}", f"https://***@{HOST}", "must be one line"),
    ],
    ids=["plain", "@", "/", "#", "?", "no-scheme", "one-slash", "newline"],
)
def test_a_url_with_credentials_is_refused_without_echoing_them(tmp_path, capfd, host, shown, rule):
    """Also a password holding a character that ends a URL's user information or host
    (written unescaped), and a mistyped scheme: no part of the password shows."""
    (line,) = pre_gen.problems({"databricks_prod_workspace_host": host})
    assert line.startswith(f"databricks_prod_workspace_host={shown!r}: {rule}")
    with pytest.raises(FailedHookException):
        render(tmp_path, databricks_staging_workspace_host=host)
    captured = capfd.readouterr()
    password = host.split("alice:", 1)[1].rsplit("@", 1)[0]
    assert f"databricks_staging_workspace_host={shown!r}: {rule}" in captured.err
    assert password not in captured.err + captured.out
    assert "alice" not in captured.err + captured.out


def test_an_at_sign_after_the_host_is_no_credential():
    """A workspace URL pasted with a user's folder in its fragment is accepted (the host is
    what the template keeps)."""
    pasted = "https://adb-1.1.azuredatabricks.net/?o=1#workspace/Users/alice@example.com/nb"
    assert pre_gen.problems({"databricks_prod_workspace_host": pasted}) == []


def test_cookiecutter_keeps_a_refused_password_in_its_replay_file(tmp_path):
    """What the README tells users to delete: cookiecutter writes the replay file (the
    answers as given) before the pre-generation hook refuses them."""
    config = yaml.safe_load(Path(os.environ["COOKIECUTTER_CONFIG"]).read_text())
    replay = Path(config["replay_dir"]) / f"{REPO.name}.json"
    replay.unlink(missing_ok=True)
    host = f"https://alice:{PASSWORD}@adb-1.1.azuredatabricks.net"
    with pytest.raises(FailedHookException):
        render(tmp_path, databricks_staging_workspace_host=host)
    answers = json.loads(replay.read_text())["cookiecutter"]
    assert answers["databricks_staging_workspace_host"] == host
