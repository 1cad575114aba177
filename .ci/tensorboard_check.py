"""Checks that TensorBoard reads the event files `backprop train --tensorboard DIR` writes, with its own reader.

Trains on a built-in dataset with a validation split, then loads the run with TensorBoard's EventMultiplexer and
EventAccumulator (the tensorboard package from PyPI, not a parser of ours) and compares: every scalar with the
metrics CSV of the same run, the last epoch's weight histograms with the saved model's weights (read by
safetensors), and the gradient histograms' counts with the parameters' sizes.
Usage: python3 .ci/tensorboard_check.py path/to/backprop
"""
import csv, math, os, subprocess, sys, tempfile
import numpy as np
from safetensors.numpy import load_file
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

backprop = sys.argv[1]
work = tempfile.mkdtemp(prefix="backprop-tensorboard-")
logs = os.path.join(work, "runs", "spirals")
metrics = os.path.join(work, "metrics.csv")
model = os.path.join(work, "model.safetensors")
epochs = 4
subprocess.run([backprop, "train", "--epochs", str(epochs), "--validation-split", "0.2", "--model", "dense 16 relu, dropout 0.1, dense 2",
                "--schedule", "exponential:0.5", "--tensorboard", logs, "--metrics", metrics, "--output", model, "--quiet"],
               check=True)

# TensorBoard finds the run under a parent --logdir.
multiplexer = EventMultiplexer().AddRunsFromDirectory(os.path.join(work, "runs"))
multiplexer.Reload()
assert list(multiplexer.Runs()) == ["spirals"], multiplexer.Runs()

files = [f for f in os.listdir(logs) if "tfevents" in f]
assert len(files) == 1, files
events = EventAccumulator(os.path.join(logs, files[0]), size_guidance={"scalars": 0, "histograms": 0})
events.Reload()
tags = events.Tags()

with open(metrics) as f:
    rows = list(csv.DictReader(f))
assert len(rows) == epochs, rows
columns = {"loss/training": "train_loss", "loss/validation": "validation_loss", "loss/test": "test_loss",
           "accuracy/training": "train_accuracy", "accuracy/validation": "validation_accuracy",
           "accuracy/test": "test_accuracy", "learning_rate": "learning_rate"}
for tag, column in columns.items():
    assert tag in tags["scalars"], (tag, tags["scalars"])
    scalars = events.Scalars(tag)
    assert [s.step for s in scalars] == list(range(1, epochs + 1)), (tag, scalars)
    for scalar, row in zip(scalars, rows):
        expected = np.float32(float(row[column]))
        assert scalar.value == expected, (tag, scalar.value, expected)
assert [s.value for s in events.Scalars("learning_rate")] == [np.float32(0.001 * 0.5 ** k) for k in range(epochs)], events.Scalars("learning_rate")

weights = load_file(model)
names = ["0.weight", "0.bias", "3.weight", "3.bias"]
assert sorted(weights) == sorted(names), sorted(weights)
for name in names:
    for kind in ("gradient_norm", "weight_norm", "update_ratio"):
        assert len(events.Scalars(f"{kind}/{name}")) == epochs, (kind, name)
    final = weights[name].astype(np.float64).ravel()
    histogram = events.Histograms(f"weights/{name}")[-1].histogram_value
    assert histogram.num == final.size and sum(histogram.bucket) == final.size, (name, histogram.num)
    assert histogram.min == final.min() and histogram.max == final.max(), (name, histogram.min, final.min())
    assert math.isclose(histogram.sum, final.sum(), rel_tol=1e-12, abs_tol=1e-12), (name, histogram.sum, final.sum())
    assert math.isclose(histogram.sum_squares, (final ** 2).sum(), rel_tol=1e-12), name
    gradients = events.Histograms(f"gradients/{name}")
    assert [g.step for g in gradients] == list(range(1, epochs + 1)), name
    assert all(g.histogram_value.num == final.size for g in gradients), name
    assert any(g.histogram_value.max > g.histogram_value.min for g in gradients), f"gradients of {name} are all equal"

print(f"tensorboard: {len(tags['scalars'])} scalar and {len(tags['histograms'])} histogram tags over {epochs} epochs "
      f"read by TensorBoard's own reader, equal to the metrics CSV and the saved weights")
