import BackpropCore
import BackpropData
import BackpropNN
import BackpropTestSupport
import Foundation
import Testing

/// What `backprop predict` and `evaluate` report, against values computed here from the model file's weights.
@Suite("Predictions", .serialized)
struct PredictionTests {
    let tool = CommandRunner.backprop

    func run(_ arguments: [String], in directory: String) -> CommandResult {
        CommandRunner.run([tool] + arguments, in: directory)
    }

    /// The forward pass of a saved dense ReLU network written out with loops: zₗ = Wₗ aₗ₋₁ + bₗ, aₗ = max(0, zₗ), the
    /// last layer's z returned.
    static func logits(of saved: SavedModel<Double>, input: [Double]) -> [Double] {
        let dense = saved.model.layers.compactMap { $0 as? Dense<Double> }
        var a = input
        for (index, layer) in dense.enumerated() {
            let w = layer.weight.scalars, b = layer.bias.scalars
            let z = (0..<layer.outputSize).map { o in (0..<layer.inputSize).reduce(b[o]) { $0 + w[o * layer.inputSize + $1] * a[$1] } }
            a = index == dense.count - 1 ? z : z.map { max(0, $0) }
        }
        return a
    }

    static func softmax(_ z: [Double]) -> [Double] {
        let top = z.max()!
        let e = z.map { exp($0 - top) }
        return e.map { $0 / e.reduce(0, +) }
    }

    /// Each classification loss's model: the probabilities `predict` prints are a softmax (or logistic) of the logits
    /// computed here, applied once.
    @Test(arguments: ["softmax-cross-entropy", "cross-entropy", "binary-cross-entropy"])
    func probabilitiesAreOneSoftmaxOfTheLogits(loss: String) throws {
        let dir = CommandRunner.temporaryDirectory("predict-\(loss)")
        let train = run(["train", "--data", "builtin:moons", "--loss", loss, "--layers", "8", "--epochs", "3",
                         "--output", "m.safetensors", "--quiet"], in: dir)
        #expect(train.status == 0, "\(train.errorOutput)")
        let predict = run(["predict", "--model", "m.safetensors", "--data", "builtin:moons", "--probabilities"], in: dir)
        #expect(predict.status == 0, "\(predict.errorOutput)")
        let rows = predict.output.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        let saved = try SavedModel<Double>.read(from: dir + "/m.safetensors")
        let data: InMemoryDataset<Double> = BuiltinDataset.moons.make(seed: 42 &+ 0x5EED)
        #expect(rows.count == data.count)
        var worst = 0.0
        for (row, fields) in rows.enumerated() {
            let z = Self.logits(of: saved, input: Array(data.features.scalars[(2 * row)..<(2 * row + 2)]))
            let p = z.count == 1 ? [1 - 1 / (1 + exp(-z[0])), 1 / (1 + exp(-z[0]))] : Self.softmax(z)
            let printed = fields.dropFirst(2).compactMap(Double.init)
            #expect(printed.count == 2)
            worst = max(worst, zip(printed, p).map { abs($0 - $1) }.max() ?? 1)
            #expect(fields[1] == (p[1] > p[0] ? "1" : "0") || abs(p[1] - p[0]) < 1e-6)
        }
        #expect(worst < 1e-6, "largest difference from one softmax of the logits: \(worst)")
    }

    /// Binary cross-entropy on two classes trains one sigmoid output, and every command reads the model.
    @Test func binaryCrossEntropyModelsWorkEverywhere() throws {
        let dir = CommandRunner.temporaryDirectory("bce")
        let train = run(["train", "--data", "builtin:xor", "--loss", "binary-cross-entropy", "--layers", "16", "--epochs", "40",
                         "--learning-rate", "0.01", "--output", "m.safetensors", "--quiet"], in: dir)
        #expect(train.status == 0, "\(train.errorOutput)")
        let saved = try SavedModel<Float>.read(from: dir + "/m.safetensors")
        #expect(saved.model.producedOutputSize == 1 && saved.info.classNames == ["0", "1"])
        let evaluate = run(["evaluate", "--model", "m.safetensors", "--data", "builtin:xor", "--json"], in: dir)
        #expect(evaluate.status == 0 && evaluate.output.contains("\"confusion_matrix\""), "\(evaluate.errorOutput)")
        let gradcheck = run(["gradcheck", "--model", "m.safetensors", "--data", "builtin:xor"], in: dir)
        #expect(gradcheck.status == 0 && gradcheck.output.hasSuffix("PASS\n"), "\(gradcheck.output)\(gradcheck.errorOutput)")
        let gradients = run(["gradients", "--model", "m.safetensors", "--data", "builtin:xor", "--output", "g.safetensors"], in: dir)
        #expect(gradients.status == 0, "\(gradients.errorOutput)")
        let explain = run(["explain", "--model", "m.safetensors", "--data", "builtin:xor", "--row", "3"], in: dir)
        #expect(explain.status == 0 && explain.output.contains("δ = σ(z) − y"), "\(explain.errorOutput)")
    }
}
