"""The spine as the contract needs it: the example module's spine, its columns checked."""

from __future__ import annotations

from collections.abc import Callable

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame

from ..checks import check_unique, table_keys
from ..contract import Contract
from ..settings_file import ConfigError
from . import definitions


def required_columns(contract: Contract) -> dict[str, str]:
    """Spine column -> the contract field that needs it (e.g. ``contract.label``; the
    first of the fields below when several do).

    The entity keys, event and lookup timestamps and label; each feature table's
    primary keys (the lookup joins on them); every model input that no feature table
    holds (the spine is the only other place it can come from).
    """
    needed = {key: "contract.entity_keys" for key in contract.entity_keys}
    needed.setdefault(contract.event_timestamp, "contract.event_timestamp")
    needed.setdefault(contract.lookup_timestamp, "contract.lookup_timestamp")
    needed.setdefault(contract.label, "contract.label")
    for table_key, table in contract.feature_tables.items():
        for column in table.primary_keys:
            needed.setdefault(column, f"contract.feature_tables.{table_key}.primary_keys")
    held = {c for table in contract.feature_tables.values() for c in table.features}
    for column in contract.features:
        if column not in held:
            needed.setdefault(column, "contract.features, held by no feature table")
    return needed


def checked_spine(entity_rows: DataFrame, contract: Contract) -> DataFrame:
    """:func:`.definitions.spine` of ``entity_rows``, refused when it lacks a column the
    contract needs (:func:`required_columns`).

    In: rows of the contract's entity table. Out: the spine, unchanged. Reads the
    spine's schema only (no Spark job), so a contract that names a model input which
    neither the spine nor a feature table produces is refused before a step writes.
    Raises ConfigError, one line naming each missing column and the contract field
    that needs it, e.g. ``the spine of features/definitions.py lacks column gate
    (contract.features, held by no feature table); its columns: flight_id, ...``;
    or, when Spark cannot build the spine (an AnalysisException, e.g. a column it
    selects that ``entity_rows`` lacks, such as a renamed ``contract.label``), one line
    with Spark's first line and the contract field naming that column, if one does.
    """
    try:
        spine = definitions.spine(entity_rows, contract)
        present = set(spine.columns)  # Spark Connect analyses here
    except AnalysisException as err:
        raise ConfigError(_unbuilt(err, contract)) from None
    missing = [
        f"{column} ({field})"
        for column, field in required_columns(contract).items()
        if column not in present
    ]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise ConfigError(
            f"the spine of features/definitions.py lacks column{plural} {'; '.join(missing)}; "
            f"its columns: {', '.join(spine.columns)}"
        )
    return spine


def check_unique_events(spine: DataFrame, contract: Contract, target: str) -> None:
    """Raise DataCheckError when two rows of ``spine`` (a spine from :func:`checked_spine`,
    i.e. events to score or train on) share the contract's entity keys (the key of the
    predictions, the training set and ``model_input``), naming ``target`` (the table the
    rows go to), the key and the counts, e.g. ``table local.s.predictions: key
    flight_id: 1 value is shared by 2 rows (e.g. flight_id=...)``.

    Checked on the spine's key columns, before any lookup: the Spark point-in-time lookup
    keeps one row per key (:func:`.point_in_time.point_in_time_lookup`), so its output
    cannot show a shared key: it would keep one of the events and drop the others
    without an error.
    """
    keys = table_keys(contract, "predictions")
    check_unique(spine.select(*keys), target, keys)


def check_event_keys(
    entity_rows: DataFrame,
    contract: Contract,
    target: str,
    lookup: Callable[[DataFrame], DataFrame] | None = None,
) -> None:
    """Raise DataCheckError when two model-input rows built from ``entity_rows`` (rows of
    the contract's entity table, to score or train on) would share the contract's entity
    keys; the message names ``target`` (where they are to be written), the key and the
    counts.

    The keys are read from the spine of ``entity_rows`` (:func:`checked_spine`), before
    any lookup (:func:`check_unique_events`, one pass over the key columns); and from
    ``lookup(spine)`` when it is given, a lookup whose output may hold more rows per key
    than its spine. Raises ConfigError when the spine lacks a column the contract needs,
    and what ``lookup`` raises.
    """
    spine = checked_spine(entity_rows, contract)
    check_unique_events(spine, contract, target)
    if lookup is not None:
        check_unique(lookup(spine), target, table_keys(contract, "predictions"))


def _unbuilt(err: AnalysisException, contract: Contract) -> str:
    """One line for a spine Spark cannot build: Spark's first line, and the contract
    field that names the column Spark cannot resolve, when one does."""
    column = (err.getMessageParameters() or {}).get("objectName", "").strip("`")
    field = required_columns(contract).get(column)
    named = f" (the column {column} is {field})" if field else ""
    first = str(err).strip().splitlines()[0]
    return (
        f"the spine of features/definitions.py cannot be built from the rows of "
        f"{contract.entity_table}{named}: {first}"
    )
