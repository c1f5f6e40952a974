"""Stage 1, data: where prices come from (``sources``), the local Parquet cache (``cache``), filling it
(``ingest``: fetch, import, the sample) and the exchange's trading days (``trading_days``).

Nothing here imports Spark or Keras.
"""
