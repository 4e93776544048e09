"""What online serving adds to the shared steps (see :mod:`..parts`).

deploy and rollback keep the Databricks serving endpoint on the champion version, and
the requests the endpoint logged are a prediction source beside batch inference (the
latest answer per entity).
"""

CHAMPION_FOLLOWERS = {"serving_endpoint": "serving.endpoint:sync"}
# inference_table: the requests and responses the online model logged
PREDICTION_SOURCES = {
    "online": ("inference_table", "serving.online_predictions:latest_online_predictions")
}
