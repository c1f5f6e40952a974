"""Stage 4, evaluation: the baselines every model is shown beside (``baselines``), error metrics
(``metrics``), the backtest and forecast frames in prices (``backtest``) and the report (``report``).

Plain numpy and pandas: nothing here imports Spark or Keras.
"""
