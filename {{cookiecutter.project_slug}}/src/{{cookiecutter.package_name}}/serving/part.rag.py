"""What online serving adds to the shared steps (see :mod:`..parts`).

deploy and rollback keep the Databricks serving endpoint on the champion version.
"""

CHAMPION_FOLLOWERS = {"serving_endpoint": "serving.endpoint:sync"}
