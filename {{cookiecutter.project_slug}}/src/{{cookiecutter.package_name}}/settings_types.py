"""What the typed settings of both use cases share: owned sections, one-line errors.

Each use case reads the merged settings of an environment into pydantic models
(strict: ``"30"`` is not a number, ``"yes"`` not a boolean; unknown keys refused):
the tabular project in :mod:`.settings_schema`, the rag project in
``rag/settings_schema.py``. An optional part of the project (online serving, for
example) types its own section in ``<part>/settings.py``; this
module finds those (:func:`owned_sections`) and turns the first validation error
into one line naming the environment and the key path (:func:`describe`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from .parts import modules
from .settings_file import ENVIRONMENT_PREFIX


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


def _path(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "<root>"


def line(env: str, loc: tuple, message: str) -> str:
    """``settings of environment '<env>': <key.path>: <message>`` for key path ``loc``."""
    return f"{ENVIRONMENT_PREFIX.format(env=env)}{_path(loc)}: {message}"


def describe(
    err: ValidationError,
    env: str,
    prefix: tuple = (),
    unknown: str = "not a setting; check the spelling",
) -> str:
    """One line for the first problem in ``err``: environment, key path, rule, value found.

    E.g. ``settings of environment 'local': chunking.size: Input should be a valid
    integer (got '800')``; an unknown key reads ``unknown key (<unknown>)``.
    ``prefix`` is the key path of the validated mapping in the settings file;
    ``unknown`` says why a key the model does not know is refused.
    """
    first = err.errors()[0]
    value = first.get("input")
    scalar = not isinstance(value, dict | list) and first["type"] != "missing"
    found = f" (got {value!r})" if scalar else ""
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = f"unknown key ({unknown})"
        found = ""
    return line(env, (*prefix, *first["loc"]), f"{message}{found}")


def validate(model: type[BaseModel], raw: dict[str, Any], env: str, error: type[Exception]):
    """``raw`` (the merged mapping of environment ``env``) read into ``model``.

    Raises ``error`` (the caller's ConfigError) with :func:`describe`'s one line when
    a key is missing, mistyped or unknown.
    """
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise error(describe(err, env)) from None
