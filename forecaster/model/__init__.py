"""Stage 3, the model: the Keras network (``network``), training one global model (``training``) or one per
ticker on Spark's executors (``per_ticker``), conformal intervals (``intervals``), and scoring saved models
on the executors (``scoring``).

``network``, ``training`` and ``intervals`` never import pyspark; ``per_ticker`` and ``scoring`` run Spark
jobs and import it inside the functions that do.
"""
