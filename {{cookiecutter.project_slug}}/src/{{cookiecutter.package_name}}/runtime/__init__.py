"""Where the steps run: the Spark session, table storage and the MLflow stores."""
