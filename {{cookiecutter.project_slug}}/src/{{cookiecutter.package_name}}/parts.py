"""The optional parts of the project, and what each adds to the code every project shares.

An optional part is a subpackage (``serving``, ``streaming``, ...) that the template's
file manifest keeps or removes as a whole. A part that adds to shared code declares it
in its module ``<part>/part.py``, with these names (each one optional):

- ``RUN_ALL_STEPS``: names of step modules (``steps/<name>.py``) that ``run-all`` runs
  after the steps every project has, in the order given;
- ``PREDICTION_SOURCES``: {source name: (key of ``tables``, ``"module:function"``)}, the
  predictions of a way of serving other than batch; the function takes the context and
  returns a DataFrame with the batch predictions table's columns;
- ``CHAMPION_FOLLOWERS``: {result key: ``"module:function"``}, called with the context
  after deploy or rollback moved the champion alias, so what serves the champion follows
  it; each returns a dict saying what it did.
- ``TABLE_KEYS`` (tabular projects): the keys of ``tables`` the part reads or writes
  beside its ``PREDICTION_SOURCES`` tables, which are not repeated here; the settings
  load refuses a key of ``tables`` that neither the shared steps nor a part names
  (``config.part_table_keys``).

Shared code reads these with :func:`merged` and :func:`concatenated` and names no
part, so it reads the same whichever parts a project has; a project without a part has
neither its files nor its declarations.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from importlib import resources
from types import ModuleType
from typing import Any

PART_MODULE = "part"


def modules(name: str) -> dict[str, ModuleType]:
    """{subpackage: its module ``<subpackage>/<name>.py``, imported} for every subpackage
    of this package that has one, in the order of the folder names.

    The one walk over the package that finds what optional parts declare: their
    ``part.py`` (:func:`declared`) and their ``settings.py``
    (:func:`.settings_types.owned_sections` for its ``SECTION_MODEL``,
    :func:`.settings_types.check_parts` for its ``check``). Empty when no subpackage has
    the module.
    """
    found = {}
    for child in sorted(resources.files(__package__).iterdir(), key=lambda c: c.name):
        if child.is_dir() and child.joinpath(f"{name}.py").is_file():
            found[child.name] = importlib.import_module(f"{__package__}.{child.name}.{name}")
    return found


def declared(name: str) -> dict[str, Any]:
    """{part: the value of ``name`` in ``<part>/part.py``} for every part that declares it.

    Parts come in the order of their folder names. A part whose module does not
    define ``name`` is left out; an empty dict means no part adds anything.
    """
    return {
        part: getattr(module, name)
        for part, module in modules(PART_MODULE).items()
        if hasattr(module, name)
    }


def merge(declarations: Mapping[str, Mapping[str, Any]], name: str) -> dict[str, Any]:
    """The dicts in ``declarations`` ({part: its dict ``name``}) merged into one, in order.

    Raises ValueError naming the key and both parts when two parts declare the same
    key, since one would silently replace the other.
    """
    out: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for part, entries in declarations.items():
        for key, value in entries.items():
            if key in owner:
                raise ValueError(
                    f"{name}: key {key!r} is declared by both part {owner[key]!r} and part "
                    f"{part!r} (<part>/part.py); each key must belong to one part"
                )
            owner[key] = part
            out[key] = value
    return out


def merged(name: str) -> dict[str, Any]:
    """The dicts that parts declare as ``name``, merged into one, in :func:`declared` order.

    Raises ValueError when two parts declare the same key (see :func:`merge`).
    """
    return merge(declared(name), name)


def concatenated(name: str) -> tuple:
    """The tuples that parts declare as ``name``, one after another, in :func:`declared` order."""
    return tuple(item for part in declared(name).values() for item in part)


def function(target: str) -> Callable:
    """The function that ``"module:function"`` names, the module relative to this package.

    Raises ModuleNotFoundError or AttributeError when either does not exist.
    """
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
