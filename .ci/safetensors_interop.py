"""Checks that Python's safetensors + numpy read a model file written by `backprop train`.

Writes a small CSV, trains on it with the CLI, loads the weights with safetensors, runs the forward pass in numpy
and compares the class probabilities with `backprop predict --probabilities`.
Usage: python3 .ci/safetensors_interop.py path/to/backprop
"""
import csv, json, os, subprocess, sys, tempfile
import numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open

backprop = sys.argv[1]
work = tempfile.mkdtemp(prefix="backprop-interop-")
rng = np.random.default_rng(0)
x = rng.normal(size=(120, 3)).astype(np.float64)
labels = np.where(x[:, 0] + 0.5 * x[:, 1] > 0, "yes", "no")
data = os.path.join(work, "data.csv")
with open(data, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["a", "b", "c", "answer"])
    for row, label in zip(x, labels):
        w.writerow([repr(float(v)) for v in row] + [label])

model = os.path.join(work, "model.safetensors")
subprocess.run([backprop, "train", "--data", data, "--scale", "none", "--layers", "8", "--epochs", "20",
                "--output", model, "--quiet"], check=True)
predictions = os.path.join(work, "predictions.csv")
subprocess.run([backprop, "predict", "--model", model, "--data", data, "--probabilities", "--output", predictions], check=True)

weights = load_file(model)
with safe_open(model, framework="numpy") as f:
    metadata = f.metadata()
assert metadata["format"] == "backprop.model.v1", metadata
architecture = json.loads(metadata["architecture"])["layers"]
classes = json.loads(metadata["info"])["classNames"]
assert classes == ["no", "yes"], classes

a = x.astype(np.float32)
for index, layer in enumerate(architecture):
    if layer["type"] == "dense":
        W, b = weights[f"{index}.weight"], weights[f"{index}.bias"]
        assert W.shape == (layer["outputs"], layer["inputs"]) and W.dtype == np.float32
        a = a @ W.T + b
    elif layer["type"] == "activation":
        assert layer["function"] == "relu", layer
        a = np.maximum(a, 0)
e = np.exp(a - a.max(axis=1, keepdims=True))
p = e / e.sum(axis=1, keepdims=True)

with open(predictions) as f:
    rows = list(csv.DictReader(f))
cli = np.array([[float(r["p_no"]), float(r["p_yes"])] for r in rows])
error = np.abs(cli - p).max()
print(f"safetensors interop: {len(weights)} tensors, {len(rows)} predictions, max |numpy − backprop| = {error:.2e}")
assert error < 1e-5, error
print("1 passed, 0 failed")
