"""The packaged settings file ``conf/config.yml``, and what every use case's settings share.

The file ships in the wheel, so the same settings reach a Databricks job task. It
holds ``common`` settings and one mapping per environment; :func:`load_raw` merges
``common``, the environment and an override file. Each use case reads the merged
mapping into its own settings: the tabular project in :mod:`.config`, the rag project
in ``rag/settings.py``. :class:`RuntimeSettings` names what the shared runtime (Spark,
tables, MLflow, serving) reads of either.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml

ENV_VAR = "MLOPS_ENV"
CONFIG_VAR = "MLOPS_CONFIG"
LOCAL_ROOT_VAR = "MLOPS_LOCAL_ROOT"
PACKAGED_CONFIG = "conf/config.yml"  # the settings file inside the package
ALIAS_KEYS = ("champion_alias", "challenger_alias")
DEFAULT_ALIASES = {"champion_alias": "champion", "challenger_alias": "challenger"}
# MLflow refuses these aliases: "latest", and anything that reads as a version ("v3", "V12").
_VERSION_LIKE_ALIAS = re.compile(r"v\d+", re.IGNORECASE)
# MLflow's rule for the characters of an alias (its validation of alias names): letters,
# digits, "_" and "-", at most 255 of them.
_ALIAS_CHARACTERS = re.compile(r"[\w-]+")
MAX_ALIAS_LENGTH = 255


class _DatesLoader(yaml.SafeLoader):
    """PyYAML's safe loader (YAML 1.1) whose date that does not exist is a ConstructorError
    at its line (:func:`_timestamp`)."""


class _SettingsLoader(_DatesLoader):
    """:class:`_DatesLoader` that also reads a number in exponent notation without a
    dot (``1e-7``, ``2E5``) or with an unsigned exponent (``1.5e3``) as a float, as the
    YAML 1.2 core schema does (digits only: ``1_000e3`` stays text). PyYAML follows YAML
    1.1, where both are strings, so ``tol: 1e-7`` was refused as "got '1e-7'". Such
    text meant as text (a name ``1e5``) is quoted."""


_SettingsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """A YAML date or timestamp as PyYAML reads it, or a ConstructorError at the value's
    line when it is no real date (``2013-02-30``): PyYAML raised a bare ValueError ("day is
    out of range for month") naming neither the key nor the line."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as error:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a date: {error}", node.start_mark
        ) from error


_DatesLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def read_yaml(text: str, yaml_1_2_floats: bool = True) -> Any:
    """The YAML document ``text`` as Python values, nothing but plain data
    (:class:`_SettingsLoader`, with YAML 1.2 floats; :class:`_DatesLoader`, YAML 1.1 as
    PyYAML reads it, with ``yaml_1_2_floats`` false). Raises ``yaml.YAMLError`` on a
    malformed document or a date that does not exist."""
    loader = _SettingsLoader if yaml_1_2_floats else _DatesLoader
    return yaml.load(text, Loader=loader)  # a SafeLoader: plain data only


def yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's ``error`` in one line: its problem, then ``(line L, column C)`` (counted
    from 1) when it gives where."""
    mark = getattr(error, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"{problem}{where}"


def read_settings_yaml(text: str, source: str) -> Any:
    """:func:`read_yaml` of ``text``, the settings file described by ``source`` (for
    example ``override file /tmp/x.yml``); ConfigError ``config: <source>: not valid YAML:
    <problem> (line L, column C)`` when it is malformed or holds a date that does not exist."""
    try:
        return read_yaml(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"config: {source}: not valid YAML: {yaml_problem(error)}") from error


class ConfigError(ValueError):
    """A setting is missing or breaks a rule; the message names the key."""


ENVIRONMENT_PREFIX = "settings of environment {env!r}: "


@contextmanager
def naming_environment(env: str) -> Iterator[None]:
    """Re-raise a ConfigError of the block with the environment before it, once.

    ``tables: missing keys x`` becomes ``settings of environment 'local': tables: missing
    keys x``; a message that already starts with that prefix is raised unchanged.
    """
    try:
        yield
    except ConfigError as err:
        prefix = ENVIRONMENT_PREFIX.format(env=env)
        if str(err).startswith(prefix):
            raise
        raise ConfigError(f"{prefix}{err}") from None


class RuntimeSettings(Protocol):
    """What the shared runtime reads of an environment's settings, whichever the use case.

    The tabular ``config.Settings`` and the rag ``RagSettings`` both have these.
    """

    @property
    def env(self) -> str: ...
    @property
    def runtime(self) -> str: ...
    @property
    def catalog(self) -> str: ...
    @property
    def schema(self) -> str: ...
    @property
    def tables(self) -> dict[str, str]: ...
    @property
    def model_short_name(self) -> str: ...
    @property
    def experiment(self) -> str: ...
    @property
    def spark_conf(self) -> dict[str, str]: ...
    @property
    def local_root(self) -> Path | None: ...
    @property
    def champion_alias(self) -> str: ...
    @property
    def challenger_alias(self) -> str: ...
    @property
    def raw(self) -> dict[str, Any]: ...
    @property
    def model_name(self) -> str: ...

    def table(self, key: str) -> str: ...


def merge(base: dict, override: dict) -> dict:
    """A deep copy of ``base`` with ``override`` merged in: nested mappings key by key,
    anything else replaced."""
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def require(raw: dict, key: str) -> Any:
    """``raw[key]``; ConfigError naming ``key`` when it is missing, None or empty."""
    if raw.get(key) in (None, ""):
        raise ConfigError(f"{key}: required setting is missing")
    return raw[key]


def registry_aliases(raw: dict) -> dict[str, str]:
    """{``champion_alias``, ``challenger_alias``: alias} from the ``registry`` section of
    ``raw`` (defaults: champion, challenger).

    Raises ConfigError naming the key for an empty alias, one MLflow refuses (a
    character other than a letter, a digit, ``_`` or ``-``; more than 255 characters)
    or reserves (``latest``, ``v<digits>``), or two equal aliases: before any step
    writes, where MLflow would refuse it only when validate uses it, after train has
    registered a version.
    """
    section = raw.get("registry") or {}
    aliases = {}
    for key in ALIAS_KEYS:
        value = section.get(key, DEFAULT_ALIASES[key])
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"registry.{key}: must be a non-empty string, got {value!r}")
        if not _ALIAS_CHARACTERS.fullmatch(value) or len(value) > MAX_ALIAS_LENGTH:
            raise ConfigError(
                f"registry.{key}: {value!r} is not an MLflow alias: 1 to {MAX_ALIAS_LENGTH} "
                "letters, digits, '_' or '-'"
            )
        if value.lower() == "latest" or _VERSION_LIKE_ALIAS.fullmatch(value):
            raise ConfigError(
                f"registry.{key}: {value!r} is reserved by MLflow "
                "('latest' and 'v<digits>' name versions, not aliases)"
            )
        aliases[key] = value
    if aliases["champion_alias"] == aliases["challenger_alias"]:
        raise ConfigError(
            "registry.challenger_alias: must differ from registry.champion_alias "
            f"(both are {aliases['champion_alias']!r})"
        )
    return aliases


def load_raw(env: str | None = None, override_file: str | Path | None = None) -> tuple[str, dict]:
    """Read the packaged config and merge ``common``, the environment, and an override file.

    ``env`` defaults to $MLOPS_ENV, else ``local``; ``override_file`` to $MLOPS_CONFIG.
    Returns (environment name, merged mapping). Raises ConfigError for an unknown
    environment, an override file that does not exist or is no mapping of settings, and
    either file when it is not valid YAML (naming the file, line and column).
    """
    text = resources.files(__package__).joinpath(PACKAGED_CONFIG).read_text(encoding="utf-8")
    document = read_settings_yaml(text, f"packaged file {PACKAGED_CONFIG}")
    env = env or os.environ.get(ENV_VAR) or "local"
    environments = document.get("environments", {})
    if env not in environments:
        raise ConfigError(f"env: {env!r} is not configured (known: {', '.join(environments)})")
    merged = merge(document.get("common", {}), environments[env])
    override_file = override_file or os.environ.get(CONFIG_VAR)
    if override_file:
        path = Path(override_file)
        if not path.is_file():
            raise ConfigError(f"config: override file {path} does not exist")
        merged = merge(merged, read_override(path))
    return env, merged


def read_override(path: Path) -> dict:
    """The settings of override file ``path`` (YAML), an empty mapping when it is empty.

    Raises ConfigError with one line naming the file when it is not valid YAML (with the
    line and column of the problem) or holds something other than a mapping of settings.
    """
    document = read_settings_yaml(path.read_text(encoding="utf-8"), f"override file {path}")
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(
            f"config: override file {path}: must be a mapping of settings (key: value), "
            f"got a {type(document).__name__}"
        )
    return document
