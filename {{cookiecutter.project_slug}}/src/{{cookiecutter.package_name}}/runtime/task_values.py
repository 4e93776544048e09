"""Task values: how one task of a Databricks job hands a result to the tasks after it."""

from __future__ import annotations

from ..settings_file import RuntimeSettings


def publish(settings: RuntimeSettings, key: str, value: str) -> bool:
    """Set the task value ``key`` of the running Databricks task to ``value``.

    ``value`` is text: the steps publish "true"/"false" and version numbers, never a
    figure (validate publishes nothing, so its NaN champion figure never becomes a task
    value). Conditions downstream read it through the dynamic value reference
    ``tasks.<task_key>.values.<key>`` (in double braces). Locally
    there is no job to hand it to: nothing happens and False is returned; on
    Databricks it returns True once the value is set.
    """
    if settings.runtime != "databricks":
        return False
    from databricks.sdk.runtime import dbutils

    dbutils.jobs.taskValues.set(key=key, value=value)
    return True
