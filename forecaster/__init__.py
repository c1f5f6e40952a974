"""Stock-price forecasting: Spark preparation, a Keras LSTM, honest evaluation.

Importing the package is cheap: Spark and Keras load only when a stage needs them.
Keras runs on the JAX backend unless ``KERAS_BACKEND`` says otherwise; the default
is set here because Keras reads the variable once, at its first import.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

__version__ = "0.1.0"
