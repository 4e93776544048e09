"""Spark's Python daemon for the tests' session, with the scoring libraries imported first.

Spark starts this module (``spark.python.daemon.module`` in conftest's
``TEST_SPARK_CONF``) once per session, and it forks a Python worker for each task that
runs Python code (a model's ``spark_udf``). Spark stops a worker that stays idle for a
minute (not configurable), and the tests' scoring steps are often further apart, so
most scoring tasks got a new worker that imported MLflow, scikit-learn and skops again
(3 to 9 s on two shared cores). A worker forked from this daemon finds them imported.
Nothing else changes: the worker runs PySpark's own worker code, and the pipeline's
package is not imported here.
"""

import mlflow.pyfunc  # noqa: F401
import pandas  # noqa: F401
import pyarrow  # noqa: F401
import sklearn.compose  # noqa: F401
import sklearn.ensemble  # noqa: F401
import sklearn.pipeline  # noqa: F401
import sklearn.preprocessing  # noqa: F401
import skops.io  # noqa: F401
from pyspark.daemon import manager

if __name__ == "__main__":
    manager()
