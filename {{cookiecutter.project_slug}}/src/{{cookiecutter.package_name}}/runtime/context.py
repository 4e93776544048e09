"""What a step needs to run: settings, the Spark session, tables and MLflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from pyspark.sql import SparkSession

from ..settings_file import RuntimeSettings
from .spark import get_spark
from .tables import Tables
from .tracking import configure_mlflow


@dataclass
class Context:
    """Lazily started resources for one environment, shared by the steps of a process."""

    settings: RuntimeSettings
    # Input checks passed by steps of this process (the tabular use case's): (table
    # location, commit stamp, expectation), so a table version checked once is not
    # checked again.
    checked: set[tuple[str, tuple, str]] = field(default_factory=set, repr=False)

    @cached_property
    def spark(self) -> SparkSession:
        """The process-wide SparkSession (started on first use)."""
        return get_spark(self.settings)

    @cached_property
    def tables(self) -> Tables:
        """Delta table access for this environment."""
        return Tables(self.spark, self.settings)

    def mlflow(self) -> None:
        """Point MLflow (process-wide) at this environment's tracking server and registry."""
        configure_mlflow(self.settings)
