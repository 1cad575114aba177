"""Checks that Python's safetensors + numpy read model files written by `backprop train`.

Writes small CSVs, trains on them with the CLI (a perceptron, and a convolutional network on 6×6 images), loads the
weights with safetensors, runs the forward pass in numpy (OIHW convolution weights, channel-major flatten, as PyTorch
has them) and compares the class probabilities with `backprop predict --probabilities`.
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
assert metadata["format"] == "backprop.model.v2", metadata
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

# A convolutional network on 6×6 images of a bright row (class "row") or column ("column").
images = rng.normal(scale=0.2, size=(80, 1, 6, 6))
kinds = np.where(np.arange(80) % 2 == 0, "row", "column")
for i, kind in enumerate(kinds):
    if kind == "row":
        images[i, 0, rng.integers(6), :] += 1
    else:
        images[i, 0, :, rng.integers(6)] += 1
data = os.path.join(work, "images.csv")
with open(data, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow([f"p{i}" for i in range(36)] + ["kind"])
    for image, kind in zip(images, kinds):
        w.writerow([repr(float(v)) for v in image.reshape(-1)] + [kind])
model = os.path.join(work, "conv.safetensors")
subprocess.run([backprop, "train", "--data", data, "--scale", "none", "--input-shape", "6x6", "--epochs", "5",
                "--model", "conv 3 3x3 same relu, maxpool 2, conv 4 2x2 nobias, batchnorm, relu, flatten, dense 2",
                "--output", model, "--quiet"], check=True)
predictions = os.path.join(work, "conv-predictions.csv")
subprocess.run([backprop, "predict", "--model", model, "--data", data, "--probabilities", "--output", predictions], check=True)
weights = load_file(model)
with safe_open(model, framework="numpy") as f:
    metadata = f.metadata()
assert metadata["format"] == "backprop.model.v2", metadata
description = json.loads(metadata["architecture"])
assert description["inputShape"] == [1, 6, 6], description

def convolve(a, W, b, pad):
    n, c, h, w = a.shape
    o, _, kh, kw = W.shape
    padded = np.zeros((n, c, h + pad[0] + pad[1], w + pad[2] + pad[3]), dtype=a.dtype)
    padded[:, :, pad[0]:pad[0] + h, pad[2]:pad[2] + w] = a
    oh, ow = padded.shape[2] - kh + 1, padded.shape[3] - kw + 1
    out = np.zeros((n, o, oh, ow), dtype=np.float64)
    for p_ in range(kh):
        for q in range(kw):
            out += np.einsum("nchw,oc->nohw", padded[:, :, p_:p_ + oh, q:q + ow], W[:, :, p_, q])
    return out + (0 if b is None else b[None, :, None, None])

a = images.astype(np.float32).astype(np.float64)
for index, layer in enumerate(description["layers"]):
    kind = layer["type"]
    if kind == "conv2d":
        w = layer["window"]
        assert w["strideHeight"] == 1 and w["strideWidth"] == 1
        W = weights[f"{index}.weight"].astype(np.float64)
        assert W.shape == (layer["outputs"], layer["inputs"], w["kernelHeight"], w["kernelWidth"])
        b = weights[f"{index}.bias"].astype(np.float64) if layer["bias"] else None
        a = convolve(a, W, b, (w["padTop"], w["padBottom"], w["padLeft"], w["padRight"]))
    elif kind == "batchnorm":
        mean, var = weights[f"{index}.running_mean"], weights[f"{index}.running_var"]
        gamma, beta = weights[f"{index}.weight"], weights[f"{index}.bias"]
        shape = (1, -1, 1, 1)
        a = (a - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + layer["epsilon"]) * gamma.reshape(shape) + beta.reshape(shape)
    elif kind == "activation":
        assert layer["function"] == "relu", layer
        a = np.maximum(a, 0)
    elif kind == "maxpool2d":
        k = layer["window"]["kernelHeight"]
        n, c, h, w_ = a.shape
        a = a[:, :, :h // k * k, :w_ // k * k].reshape(n, c, h // k, k, w_ // k, k).max(axis=(3, 5))
    elif kind == "flatten":
        a = a.reshape(a.shape[0], -1)
    elif kind == "dense":
        a = a @ weights[f"{index}.weight"].T.astype(np.float64) + weights[f"{index}.bias"]
    else:
        raise AssertionError(f"unexpected layer {layer}")
e = np.exp(a - a.max(axis=1, keepdims=True))
p = e / e.sum(axis=1, keepdims=True)
with open(predictions) as f:
    rows = list(csv.DictReader(f))
classes = json.loads(metadata["info"])["classNames"]
cli = np.array([[float(r[f"p_{name}"]) for name in classes] for r in rows])
error = np.abs(cli - p).max()
print(f"safetensors interop, convolutional: {len(weights)} tensors, {len(rows)} predictions, max |numpy − backprop| = {error:.2e}")
assert error < 1e-5, error
print("2 passed, 0 failed")
