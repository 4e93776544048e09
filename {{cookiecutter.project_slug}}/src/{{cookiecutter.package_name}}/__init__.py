"""{{ cookiecutter.project_name }}.

Pipeline steps that run locally and as Databricks wheel tasks.

Importing the package sets ``OMP_WAIT_POLICY=passive`` unless the environment sets it:
the OpenMP threads scikit-learn fits and scores with then sleep instead of spinning
while they wait for each other. On cores that are busy (Spark's JVM, its Python workers,
other jobs) a spinning thread holds a core the thread it waits for needs: a gradient
boosting fit on 2 busy cores took 6 times the CPU seconds. Locally, Spark's Python
workers inherit the setting from the process that starts Spark; on Databricks the
cluster starts them before the package is imported. OpenMP reads it when it loads, so
it is set here, before any module of the package imports scikit-learn: a process that
loaded scikit-learn before the package (a notebook, say) keeps its spinning threads.
Results do not change.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

__version__ = "0.1.0"
