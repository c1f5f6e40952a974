"""Stage 4, evaluation: the baselines every model is shown beside (``baselines``), error metrics
(``metrics``), the backtest and forecast frames in prices (``backtest``), the report (``report``) and the
ledger of forecasts issued beyond the data, scored as their days arrive (``ledger``).

Plain numpy and pandas: nothing here imports Spark or Keras.
"""
