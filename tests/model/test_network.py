"""The ensemble quantile network: ordered quantiles, one output per member, each member's own early stopping."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from forecaster.columns import QUANTILES
from forecaster.config import ModelConfig
from forecaster.model import network

TINY = ModelConfig(lookback=6, horizon=2, units=4, members=3, epochs=4, patience=1, batch_size=16)


def test_quantiles_never_cross_whatever_the_weights():
    _, forecasting = network.build_model(3, TINY)
    rng = np.random.default_rng(0)
    for layer in forecasting.layers:
        layer.set_weights([rng.normal(0, 3, w.shape).astype(np.float32) for w in layer.get_weights()])
    out = forecasting.predict(rng.normal(size=(64, 6, 3)).astype(np.float32), verbose=0)
    assert out.shape == (64, 2, len(QUANTILES))
    assert (np.diff(out, axis=-1) >= 0).all()


def test_the_forecasting_model_averages_the_members():
    training, forecasting = network.build_model(3, TINY)
    x = np.random.default_rng(1).normal(size=(8, 6, 3)).astype(np.float32)
    members = training.predict(x, verbose=0)
    assert len(members) == 3
    np.testing.assert_allclose(forecasting.predict(x, verbose=0), np.mean(members, axis=0), rtol=1e-5, atol=1e-6)


def test_each_member_keeps_the_weights_of_its_own_best_epoch():
    stopper = network.MemberEarlyStopping(members=2, patience=2)
    training, _ = network.build_model(3, ModelConfig(lookback=6, horizon=2, units=4, members=2))
    stopper.set_model(training)
    member_1 = [layer for layer in training.layers if layer.name.startswith("m1_")]
    losses = [(1.0, 0.9), (0.8, 1.0), (0.9, 1.1), (0.95, 1.2)]  # member 0 best at epoch 2, member 1 at epoch 1
    snapshots = []
    for epoch, (zero, one) in enumerate(losses):
        for layer in member_1:
            layer.set_weights([w + 1.0 for w in layer.get_weights()])  # training moves the weights
        snapshots.append([layer.get_weights() for layer in member_1])
        stopper.on_epoch_end(epoch, {"val_member_0_loss": zero, "val_member_1_loss": one})
        if training.stop_training:
            break
    assert training.stop_training and epoch == 3  # both waited 2 epochs by the 4th
    stopper.on_train_end()
    assert stopper.best_epoch == [2, 1]
    for layer, best in zip(member_1, snapshots[0], strict=True):
        for weights, expected in zip(layer.get_weights(), best, strict=True):
            np.testing.assert_array_equal(weights, expected)


#: A new process that builds the network and forecasts with it: what every command and Spark worker does. It
#: prints how many compilations JAX found in its persistent cache and how many it had to make.
_FORECAST_IN_A_NEW_PROCESS = """
import collections, json
import jax.monitoring
import numpy as np
events = collections.Counter()
jax.monitoring.register_event_listener(lambda event, **_: events.update([event.rsplit("/", 1)[-1]]))
from forecaster.config import ModelConfig
from forecaster.model import network
_, model = network.build_model(3, ModelConfig(lookback=6, horizon=2, units=4, members=1))
model.predict(np.zeros((4, 6, 3), np.float32), verbose=0)
print(json.dumps({"found": events["cache_hits"], "compiled": events["cache_misses"]}))
"""


def _forecast_in_a_new_process(env: dict[str, str]) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _FORECAST_IN_A_NEW_PROCESS],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_second_process_finds_the_network_compiled_by_the_first(tmp_path):
    folder = tmp_path / "compiled"
    env = {**os.environ, "FORECASTER_COMPILE_CACHE": str(folder)}
    first = _forecast_in_a_new_process(env)
    assert first["compiled"] > 0 and first["found"] == 0
    kept = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert len(kept) >= first["compiled"]  # every compilation is kept, however quick
    second = _forecast_in_a_new_process(env)
    assert second == {"found": first["compiled"], "compiled": 0}  # each one found: nothing compiled again
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == kept  # and nothing written again
