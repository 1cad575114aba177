"""Backprop's ONNX export and import, checked against the onnx package and ONNX Runtime (run by .ci/run).

Usage: python3 .ci/onnx_interop.py PATH/TO/backprop

1. Models Backprop trained and exported (an image classifier with every image layer kind, on the Fashion-MNIST
   test set; CSV classifiers with scaling, missing cells and a text column; a CSV regression model) pass
   onnx.checker.check_model(full_check=True), and ONNX Runtime's outputs match `backprop predict --probabilities`
   within 1e-5 with the same predicted class on every row.
2. Export -> import gives the same tensors bit for bit and the same predictions, character for character.
3. ONNX files built here with onnx.helper (not by Backprop) import, and Backprop's predictions match ONNX Runtime's
   within 1e-5.
4. The README's ONNX Runtime snippet runs on an exported model.
"""
import csv
import gzip
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

BACKPROP = os.path.abspath(sys.argv[1])
FASHION = "/usr/share/datasets/fashion-mnist"
README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")
TOLERANCE = 1e-5


def backprop(*args):
    result = subprocess.run([BACKPROP, *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"backprop {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def predictions(path):
    """The classes (or values) and probabilities of a `backprop predict` CSV."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    labels = [row[1] for row in body]
    probabilities = np.array([[float(x) for x in row[2:]] for row in body]) if len(header) > 2 else None
    return header, labels, probabilities


def session(path):
    onnx.checker.check_model(onnx.load(path), full_check=True)
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def compare_classes(name, onnx_probabilities, predict_csv):
    header, labels, probabilities = predictions(predict_csv)
    classes = [h[2:] for h in header[2:]]
    difference = np.abs(onnx_probabilities - probabilities).max()
    onnx_labels = [classes[i] for i in onnx_probabilities.argmax(axis=1)]
    mismatched = sum(a != b for a, b in zip(onnx_labels, labels))
    print(f"{name}: {len(labels)} rows, max |ONNX Runtime - backprop predict| = {difference:.2e}, {mismatched} different classes")
    assert len(labels) == len(onnx_probabilities), name
    assert difference <= TOLERANCE, f"{name}: probabilities differ by {difference}"
    assert mismatched == 0, f"{name}: {mismatched} rows predicted differently"
    return difference


def round_trip(name, model, onnx_path, predict_args, work):
    """export -> import: the same tensors bit for bit, the same predictions character for character."""
    imported = os.path.join(work, name + "-imported.safetensors")
    backprop("import", onnx_path, "--output", imported)
    original, back = load_file(model), load_file(imported)
    assert original.keys() == back.keys(), f"{name}: tensors {sorted(original)} became {sorted(back)}"
    for key in original:
        assert original[key].dtype == back[key].dtype and original[key].shape == back[key].shape, key
        assert original[key].tobytes() == back[key].tobytes(), f"{name}: tensor {key} changed"
    first, second = os.path.join(work, name + "-p1.csv"), os.path.join(work, name + "-p2.csv")
    backprop("predict", "--model", model, *predict_args, "--probabilities", "--output", first, "--force")
    backprop("predict", "--model", imported, *predict_args, "--probabilities", "--output", second, "--force")
    assert open(first).read() == open(second).read(), f"{name}: predictions changed on the round trip"
    print(f"{name}: export -> import keeps {len(original)} tensors bit for bit and every prediction")


def read_idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def image_model(work):
    """A convolutional classifier trained on 6000 Fashion-MNIST images, checked on the 10 000 test images."""
    data = os.path.join(work, "fashion")
    os.makedirs(data)
    write_idx(os.path.join(data, "train-images-idx3-ubyte.gz"), read_idx(f"{FASHION}/train-images-idx3-ubyte.gz")[:6000])
    write_idx(os.path.join(data, "train-labels-idx1-ubyte.gz"), read_idx(f"{FASHION}/train-labels-idx1-ubyte.gz")[:6000])
    for part in ["images-idx3", "labels-idx1"]:
        os.symlink(f"{FASHION}/t10k-{part}-ubyte.gz", os.path.join(data, f"t10k-{part}-ubyte.gz"))
    model, exported = os.path.join(work, "image.safetensors"), os.path.join(work, "model.onnx")
    backprop("train", "--data", data, "--epochs", "1", "--quiet", "--output", model, "--model",
             "conv 8 3x3 same relu, batchnorm, maxpool 2, conv 16 3x3 stride 2 pad 1 leaky-relu 0.1, avgpool 2, "
             "conv 16 1x1 nobias elu, layernorm, flatten, dropout 0.25, dense 32 gelu, batchnorm, dense 16 tanh, "
             "dense 10")
    backprop("export", model, "--output", exported)
    predicted = os.path.join(work, "image-predictions.csv")
    backprop("predict", "--model", model, "--data", data, "--probabilities", "--output", predicted)
    images = read_idx(f"{FASHION}/t10k-images-idx3-ubyte.gz").astype(np.float32).reshape(-1, 1, 28, 28)
    probabilities = session(exported).run(["probabilities"], {"input": images})[0]
    difference = compare_classes("Fashion-MNIST convolutional classifier", probabilities, predicted)
    round_trip("image", model, exported, ["--data", data], work)

    # The README's snippet, run as written, next to the exported model.
    snippet = re.search(r"<!-- onnx-snippet -->\s*```python\n(.*?)```", open(README).read(), re.S).group(1)
    result = subprocess.run([sys.executable, "-c", snippet], cwd=work, capture_output=True, text=True)
    assert result.returncode == 0, f"README snippet failed:\n{result.stderr}"
    print(f"README snippet: prints {result.stdout.strip()}")

    # A second image model: global average pooling and a sigmoid.
    gap_model, gap_onnx = os.path.join(work, "gap.safetensors"), os.path.join(work, "gap.onnx")
    backprop("train", "--data", data, "--epochs", "1", "--quiet", "--output", gap_model, "--model",
             "conv 8 5x5 pad 2 softplus, maxpool 3 stride 2, conv 12 3x3 sigmoid, gap, dense 10")
    backprop("export", gap_model, "--output", gap_onnx)
    gap_predicted = os.path.join(work, "gap-predictions.csv")
    backprop("predict", "--model", gap_model, "--data", data, "--probabilities", "--output", gap_predicted)
    probabilities = session(gap_onnx).run(["probabilities"], {"input": images})[0]
    difference = max(difference, compare_classes("Fashion-MNIST global-average-pool classifier", probabilities, gap_predicted))
    round_trip("gap", gap_model, gap_onnx, ["--data", data], work)
    return data, images, difference


def tabular_rows(rng, count, unseen=False):
    rows = []
    colours = ["red", "green", "blue"] + (["purple"] if unseen else [])
    for _ in range(count):
        x1, x2 = rng.normal(3, 2), rng.uniform(-10, 40)
        colour = colours[rng.integers(len(colours))]
        size = rng.normal(100, 30)
        score = x1 * 0.8 - x2 * 0.05 + {"red": 1, "green": -1}.get(colour, 0) + (size - 100) / 40
        label = "high" if score > 1.5 else "mid" if score > -0.5 else "low"
        cells = [f"{x1:.4f}", f"{x2:.3f}", colour, f"{size:.2f}"]
        if rng.random() < 0.1:
            cells[rng.choice([1, 2])] = ""  # missing cells, filled as in training
        rows.append(cells + [label, f"{score * 10 + 50:.3f}"])
    return rows


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def csv_models(work):
    """CSV models: a classifier with a text column, missing cells and standard scaling (one input per column); one
    on numbers only with min-max scaling (one input); a regression model with a standardised target."""
    rng = np.random.default_rng(7)
    header = ["x1", "x2", "colour", "size", "label", "score"]
    train, test = os.path.join(work, "train.csv"), os.path.join(work, "test.csv")
    write_csv(train, header, tabular_rows(rng, 400))
    test_rows = tabular_rows(rng, 200, unseen=True)
    write_csv(test, header, test_rows)

    def column(index, numeric):
        values = [row[index] for row in test_rows]
        if numeric:
            return np.array([[float(v) if v else np.nan] for v in values], dtype=np.float32)
        return np.array([[v] for v in values], dtype=object)

    worst = 0.0
    model, exported = os.path.join(work, "mixed.safetensors"), os.path.join(work, "mixed.onnx")
    backprop("train", "--data", train, "--label", "label", "--ignore-columns", "score", "--missing", "mean",
             "--epochs", "30", "--layers", "16,16", "--quiet", "--output", model)
    backprop("export", model, "--output", exported)
    predicted = os.path.join(work, "mixed-predictions.csv")
    backprop("predict", "--model", model, "--data", test, "--label", "label", "--ignore-columns", "score",
             "--probabilities", "--output", predicted)
    feeds = {"x1": column(0, True), "x2": column(1, True), "colour": column(2, False), "size": column(3, True)}
    probabilities = session(exported).run(["probabilities"], feeds)[0]
    worst = max(worst, compare_classes("CSV classifier with a text column and missing cells", probabilities, predicted))
    round_trip("mixed", model, exported, ["--data", test, "--label", "label", "--ignore-columns", "score"], work)

    numeric_train, numeric_test = os.path.join(work, "numeric-train.csv"), os.path.join(work, "numeric-test.csv")
    keep = [0, 1, 3, 4, 5]
    complete = [r for r in tabular_rows(rng, 400) if all(r)]
    write_csv(numeric_train, [header[i] for i in keep], [[r[i] for i in keep] for r in complete])
    numeric_rows = [r for r in test_rows if all(r)]
    write_csv(numeric_test, [header[i] for i in keep], [[r[i] for i in keep] for r in numeric_rows])
    features = np.array([[float(r[0]), float(r[1]), float(r[3])] for r in numeric_rows], dtype=np.float32)
    model, exported = os.path.join(work, "numeric.safetensors"), os.path.join(work, "numeric.onnx")
    backprop("train", "--data", numeric_train, "--label", "label", "--ignore-columns", "score", "--scale", "minmax",
             "--epochs", "30", "--model", "dense 12 leaky-relu, dense 3", "--quiet", "--output", model)
    backprop("export", model, "--output", exported)
    predicted = os.path.join(work, "numeric-predictions.csv")
    backprop("predict", "--model", model, "--data", numeric_test, "--probabilities", "--output", predicted)
    probabilities = session(exported).run(["probabilities"], {"input": features})[0]
    worst = max(worst, compare_classes("CSV classifier with min-max scaling", probabilities, predicted))

    model, exported = os.path.join(work, "regression.safetensors"), os.path.join(work, "regression.onnx")
    backprop("train", "--data", numeric_train, "--label", "score", "--ignore-columns", "label", "--epochs", "30",
             "--layers", "16", "--quiet", "--output", model)
    backprop("export", model, "--output", exported)
    predicted = os.path.join(work, "regression-predictions.csv")
    backprop("predict", "--model", model, "--data", numeric_test, "--output", predicted)
    _, values, _ = predictions(predicted)
    onnx_values = session(exported).run(["prediction"], {"input": features})[0][:, 0]
    difference = np.abs(onnx_values - np.array([float(v) for v in values])).max()
    relative = difference / max(1.0, np.abs(onnx_values).max())
    print(f"CSV regression: {len(values)} rows, max |ONNX Runtime - backprop predict| = {difference:.2e} ({relative:.2e} of the largest value)")
    assert relative <= TOLERANCE, f"regression predictions differ by {difference}"
    round_trip("regression", model, exported, ["--data", numeric_test], work)
    return worst


def built_models(work, fashion, images):
    """ONNX files written here with onnx.helper import into Backprop, and predict as ONNX Runtime does."""
    rng = np.random.default_rng(3)

    def weights(name, *shape, scale=0.5):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    # A perceptron: Gemm both ways, MatMul + Add, GELU written with Erf (as exporters before operator set 20 write
    # it), a Reshape by a Constant node, a final Softmax; its weights in an external data file, as torch.onnx.export
    # writes them by default.
    scalar = lambda name, value: numpy_helper.from_array(np.array(value, dtype=np.float32), name)
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], transB=1),
        helper.make_node("Relu", ["h1"], ["a1"]),
        helper.make_node("Gemm", ["a1", "w2", "b2"], ["h2"]),
        helper.make_node("Div", ["h2", "root2"], ["g1"]),
        helper.make_node("Erf", ["g1"], ["g2"]),
        helper.make_node("Add", ["g2", "one"], ["g3"]),
        helper.make_node("Mul", ["half", "g3"], ["g4"]),
        helper.make_node("Mul", ["h2", "g4"], ["a2"]),
        helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([-1, 6], dtype=np.int64))),
        helper.make_node("Reshape", ["a2", "shape"], ["r2"]),
        helper.make_node("MatMul", ["r2", "w3"], ["h3"]),
        helper.make_node("Add", ["h3", "b3"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["p"], axis=1),
    ]
    initializers = [weights("w1", 8, 5), weights("b1", 8), weights("w2", 8, 6), weights("b2", 6),
                    weights("w3", 6, 4), weights("b3", 4), scalar("root2", np.sqrt(2)), scalar("one", 1), scalar("half", 0.5)]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 5])],
                              [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["n", 4])], initializers)
    path = os.path.join(work, "helper-mlp.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path,
              save_as_external_data=True, location="helper-mlp.onnx.data", size_threshold=0)
    assert os.path.getsize(path + ".data") > 0
    x = rng.standard_normal((300, 5)).astype(np.float32) * 2
    expected = session(path).run(["p"], {"x": x})[0]
    imported = os.path.join(work, "helper-mlp.safetensors")
    backprop("import", path, "--output", imported)
    data = os.path.join(work, "helper-mlp.csv")
    with open(data, "w") as f:  # no header row: the columns are column1 … column5, as the imported model names them
        f.writelines(",".join(repr(float(v)) for v in row) + "\n" for row in x)
    predicted = os.path.join(work, "helper-mlp-predictions.csv")
    backprop("predict", "--model", imported, "--data", data, "--probabilities", "--output", predicted)
    worst = compare_classes("onnx.helper perceptron imported", expected, predicted)

    # A convolutional network: padded Conv, BatchNormalization, MaxPool, Conv without bias, GlobalAveragePool,
    # Flatten, Gemm and Softmax, with constants as initializers.
    nodes = [
        helper.make_node("Conv", ["x", "cw1", "cb1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "s", "o", "m", "v"], ["n1"], epsilon=1e-3),
        helper.make_node("Relu", ["n1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "cw2"], ["c2"], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "dw", "db"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["p"]),
    ]
    variance = numpy_helper.from_array(rng.uniform(0.5, 2, 6).astype(np.float32), "v")
    initializers = [weights("cw1", 6, 1, 3, 3), weights("cb1", 6), weights("s", 6), weights("o", 6), weights("m", 6),
                    variance, weights("cw2", 10, 6, 3, 3, scale=0.3), weights("dw", 10, 10), weights("db", 10)]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 28, 28])],
                              [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["n", 10])], initializers)
    path = os.path.join(work, "helper-cnn.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    # Backprop reads IDX pixels as value / 255.
    expected = session(path).run(["p"], {"x": images / np.float32(255)})[0]
    imported = os.path.join(work, "helper-cnn.safetensors")
    backprop("import", path, "--output", imported)
    predicted = os.path.join(work, "helper-cnn-predictions.csv")
    backprop("predict", "--model", imported, "--data", fashion, "--probabilities", "--output", predicted)
    return max(worst, compare_classes("onnx.helper convolutional network imported", expected, predicted))


def main():
    if not os.path.isdir(FASHION):
        sys.exit(f"{FASHION} is missing: install Debian's dataset-fashion-mnist (as .ci/run does)")
    with tempfile.TemporaryDirectory() as work:
        fashion, images, exported = image_model(work)
        tabular = csv_models(work)
        imported = built_models(work, fashion, images)
    print(f"onnx interop: passed (max difference: exported {max(exported, tabular):.2e}, imported {imported:.2e})")


main()
