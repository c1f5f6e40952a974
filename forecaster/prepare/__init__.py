"""Stage 2, preparation: the SparkSession (``session``), where each ticker's history is cut (``splits``), the
Spark job that cleans, adds features, labels splits and scales from train rows (``table``), and the numpy
windows the model is fed (``windows``).

Only ``session`` and ``table`` import pyspark; ``splits`` and ``windows`` are plain numpy and pandas.
"""
