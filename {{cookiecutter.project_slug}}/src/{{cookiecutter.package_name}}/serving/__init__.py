"""Online serving: the champion behind a REST endpoint, and its inference table.

- :mod:`.server`: locally, MLflow's pyfunc scoring server for the champion version on
  127.0.0.1, logging every request and response in the inference table;
- :mod:`.inference_table`: that table's columns and its batched writer (any pyfunc model);
- :mod:`.endpoint`: on Databricks, the Model Serving endpoint that deploy and
  rollback keep on the champion version (databricks-sdk).

A use case may add modules of its own here (each says what it is for in its docstring).
"""
