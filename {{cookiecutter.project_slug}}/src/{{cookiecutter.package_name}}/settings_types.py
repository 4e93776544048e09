"""What the typed settings of both use cases share: owned sections, one-line errors.

Each use case reads the merged settings of an environment into pydantic models
(:data:`SETTINGS_CONFIG`: strict, ``"30"`` is not a number, ``"yes"`` not a boolean;
numbers finite; unknown keys refused): the tabular project in :mod:`.settings_schema`,
the rag project in ``rag/settings_schema.py``. An optional part of the project (online
serving, for example) types its own section in ``<part>/settings.py`` and may hold its
rules there (``check``); this module finds those (:func:`owned_sections`,
:func:`check_parts`), holds the rules of names (:func:`object_name`,
:func:`distinct_names`) and turns the first validation error
into one line naming the environment and the key path (:func:`describe`); a
misspelled key is named with the key it is close to (:func:`unknown_key`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from difflib import get_close_matches
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from .parts import modules
from .settings_file import ENVIRONMENT_PREFIX

# The pydantic configuration of every settings model: unknown keys refused, values strict
# (``"30"`` is not a number), frozen, and numbers finite: a threshold of ``.nan``, ``.inf``
# or ``1e400`` (which YAML reads as infinity) is one that no figure crosses, or every
# figure does, so a gate written with it would never hold.
SETTINGS_CONFIG = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


def owned_sections() -> dict[str, type[BaseModel]]:
    """Models of the sections an optional part of the project types itself.

    A subpackage ``<name>`` whose ``settings`` module defines ``SECTION_MODEL`` (a
    pydantic model) types the section ``<name>``; a project without that part has
    neither the module nor the section. The subpackages are found by
    :func:`.parts.modules`, the same walk that finds the parts' ``part.py``.
    Returns {section name: model}, in the order of the folder names.
    """
    return {
        name: module.SECTION_MODEL
        for name, module in modules("settings").items()
        if getattr(module, "SECTION_MODEL", None) is not None
    }


def check_parts(settings: Any) -> None:
    """Run the rules of every optional part's section on ``settings`` (either use case's).

    A subpackage whose ``settings`` module defines ``check(settings)`` (raising
    ConfigError naming the key) has it called when the settings load, after the types
    and the rules between keys: a bad value of a section that only a late step reads is
    then refused before the first step of a run writes anything.
    """
    for module in modules("settings").values():
        check = getattr(module, "check", None)
        if check is not None:
            check(settings)


# A Unity Catalog name the pipeline can pass unquoted to Spark's table APIs (``spark.table``,
# ``saveAsTable``, ``DeltaTable.forName``, ``readStream.table``): letters, digits and
# underscores, not starting with a digit, at most 255 characters. Unity Catalog itself
# takes more (a hyphen, when quoted in backticks) and refuses ``.``, ``/`` and spaces.
# The generator holds the catalog and schema it asks for to the same rule (hooks/).
_OBJECT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_NAME_LENGTH = 255


def object_name(value: str) -> str:
    """``value`` when it is one Unity Catalog identifier (:data:`_OBJECT_NAME`): the short
    name of a catalog, schema, table or registered model, which the pipeline joins into
    ``<catalog>.<schema>.<name>`` (and, locally, into folders under the local root).

    Raises ValueError otherwise: ``tables.x: main.ml.x`` would make a five-part name and
    ``ml-prod`` an identifier Spark cannot parse unquoted, which a local run
    (where names are folders) does not notice and Databricks refuses at the first step
    that uses the table.
    """
    if len(value) > MAX_NAME_LENGTH or not _OBJECT_NAME.fullmatch(value):
        raise ValueError(
            "must be a Unity Catalog identifier: letters, digits and underscores, not "
            f"starting with a digit, at most {MAX_NAME_LENGTH} characters (e.g. ml_prod; "
            "catalog and schema are keys of their own)"
        )
    return value


# A settings value that is one object name (:func:`object_name`).
ObjectName = Annotated[str, AfterValidator(object_name)]


def distinct_names(names: Mapping[str, str]) -> None:
    """Check that no two keys of ``names`` (key -> object name, e.g. the ``tables``
    mapping) name the same object.

    Unity Catalog names ignore case, so ``Preds`` and ``preds`` are one table; two keys
    naming one table would have one step overwrite what another wrote (predictions over
    a bronze table, for instance). Raises ValueError naming both keys, in the order of
    ``names``, and the name the second gives, e.g. ``events_bronze and predictions both
    name 'events_bronze' (Unity Catalog names ignore case): give each its own name``.
    """
    first: dict[str, str] = {}  # lowercased name -> the first key naming it
    for key, name in names.items():
        other = first.setdefault(name.lower(), key)
        if other != key:
            raise ValueError(
                f"{other} and {key} both name {name!r} (Unity Catalog names ignore case): "
                "give each its own name"
            )


def _path(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "<root>"


def line(env: str, loc: tuple, message: str) -> str:
    """``settings of environment '<env>': <key.path>: <message>`` for key path ``loc``."""
    return f"{ENVIRONMENT_PREFIX.format(env=env)}{_path(loc)}: {message}"


def _unwrapped(annotation: Any) -> Any:
    """``annotation`` without ``Annotated`` and ``None`` of an optional: the one type a key
    path goes through; None for a union of several types (no one set of keys)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _unwrapped(members[0]) if len(members) == 1 else None
    return annotation


def keys_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a settings file may write at key path ``loc`` of ``model``.

    ``loc`` is a pydantic error location relative to ``model`` (field keys, mapping keys,
    list indexes). Returns the field keys (the alias where a field has one, e.g.
    ``schema``) of the model found there, in declaration order; an empty list when
    ``loc`` does not end at a model (an open mapping such as ``tables``).
    """
    current: Any = model
    for part in loc:
        current = _unwrapped(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {info.alias or name: info for name, info in current.model_fields.items()}
            if part not in fields:
                return []
            current = fields[part].annotation
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return []
    current = _unwrapped(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items()]
    return []


def unknown_key(key: str, known: Iterable[str], reason: str, always_reason: bool = False) -> str:
    """What to say of ``key``, not one of ``known``: ``unknown key (did you mean <k>?)`` when
    :func:`difflib.get_close_matches` finds a close key ``k`` among ``known`` (the closest),
    else ``unknown key (<reason>)``; with ``always_reason``, ``unknown key (did you mean
    <k>? <reason>)`` when there is a close key."""
    close = get_close_matches(str(key), list(known), n=1)
    if not close:
        return f"unknown key ({reason})"
    return f"unknown key (did you mean {close[0]}?{f' {reason}' if always_reason else ''})"


def first_error(errors: list[dict]) -> dict:
    """The error to report: the first one, unless it is a missing key and an unknown key at
    the same level is close to its name (a misspelling, which leaves the real name missing)."""
    first = errors[0]
    if first["type"] == "missing":
        level, name = first["loc"][:-1], str(first["loc"][-1])
        for error in errors:
            if (
                error["type"] == "extra_forbidden"
                and error["loc"][:-1] == level
                and get_close_matches(str(error["loc"][-1]), [name], n=1)
            ):
                return error
    return first


def describe(
    err: ValidationError,
    model: type[BaseModel],
    env: str,
    prefix: tuple = (),
    unknown: str = "not a setting; check the spelling",
) -> str:
    """One line for the first problem in ``err``: environment, key path, rule, value found.

    ``err`` is what validating a mapping into ``model`` raised. E.g. ``settings of
    environment 'local': chunking.size: Input should be a valid integer (got '800')``.
    An unknown key reads ``unknown key (did you mean <key>?)`` when one of the keys
    ``model`` takes at that level (:func:`keys_at`) is close to it, else ``unknown key
    (<unknown>)``; it is reported before a missing key at the same level, since a
    misspelled key leaves its real name missing. ``prefix`` is the key path of the
    validated mapping in the settings file; ``unknown`` says why a key the model does
    not know is refused.
    """
    first = first_error(err.errors())
    loc = first["loc"]
    value = first.get("input")
    scalar = not isinstance(value, dict | list) and first["type"] != "missing"
    found = f" (got {value!r})" if scalar else ""
    message = first["msg"].removeprefix("Value error, ")  # a validator's own words
    if first["type"] == "extra_forbidden":
        message = unknown_key(loc[-1], keys_at(model, loc[:-1]), unknown)
        found = ""
    return line(env, (*prefix, *loc), f"{message}{found}")


def validate(model: type[BaseModel], raw: dict[str, Any], env: str, error: type[Exception]):
    """``raw`` (the merged mapping of environment ``env``) read into ``model``.

    Raises ``error`` (the caller's ConfigError) with :func:`describe`'s one line when
    a key is missing, mistyped or unknown.
    """
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise error(describe(err, model, env)) from None
