import BackpropCore
import BackpropData
import BackpropNN
import BackpropTestSupport
import Foundation
import Testing

/// `backprop explain` against the seeds' formulas evaluated by hand (plain Double arithmetic, not the engine).
@Suite("backprop explain")
struct ExplainTests {
    let tool = CommandRunner.backprop

    static func σ(_ z: Double) -> Double { 1 / (1 + Foundation.exp(-z)) }

    // The 2-2-2 example by hand (see Tests/BackpropNNTests/WorkedExampleTests.swift for the derivation).
    static let a1 = [σ(0.15 * 0.05 + 0.20 * 0.10 + 0.35), σ(0.25 * 0.05 + 0.30 * 0.10 + 0.35)]
    static let a2 = [σ(0.40 * a1[0] + 0.45 * a1[1] + 0.60), σ(0.50 * a1[0] + 0.55 * a1[1] + 0.60)]
    static let delta2 = [(a2[0] - 0.01) * a2[0] * (1 - a2[0]), (a2[1] - 0.99) * a2[1] * (1 - a2[1])]
    static let delta1 = [(0.40 * delta2[0] + 0.50 * delta2[1]) * a1[0] * (1 - a1[0]),
                         (0.45 * delta2[0] + 0.55 * delta2[1]) * a1[1] * (1 - a1[1])]
    static let loss = 0.5 * (0.01 - a2[0]) * (0.01 - a2[0]) + 0.5 * (0.99 - a2[1]) * (0.99 - a2[1])

    func flat(_ value: Any?) -> [Double] {
        if let numbers = value as? [NSNumber] { return numbers.map(\.doubleValue) }
        if let rows = value as? [[NSNumber]] { return rows.flatMap { $0.map(\.doubleValue) } }
        return []
    }

    func expectClose(_ actual: [Double], _ expected: [Double], _ what: String) {
        #expect(actual.count == expected.count, "\(what): \(actual)")
        for (a, e) in zip(actual, expected) { #expect(Swift.abs(a - e) < 1e-9, "\(what): \(a) vs \(e)") }
    }

    @Test func jsonMatchesTheHandDerivation() throws {
        let dir = CommandRunner.temporaryDirectory("explain")
        let result = CommandRunner.run([tool, "explain", "--format", "json", "--steps", "4"], in: dir)
        #expect(result.status == 0, "\(result.errorOutput)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(object["format"] as? String == "backprop.explain.v1")
        #expect(Swift.abs((object["loss"] as! NSNumber).doubleValue - Self.loss) < 1e-12)
        let layers = try #require(object["layers"] as? [[String: Any]])
        expectClose(flat(layers[0]["a"]), Self.a1, "a¹")
        expectClose(flat(layers[1]["a"]), Self.a2, "a²")
        expectClose(flat(layers[1]["delta"]), Self.delta2, "δ²")
        expectClose(flat(layers[0]["delta"]), Self.delta1, "δ¹")
        expectClose(flat(layers[1]["dJ_dW"]), [Self.delta2[0] * Self.a1[0], Self.delta2[0] * Self.a1[1],
                                               Self.delta2[1] * Self.a1[0], Self.delta2[1] * Self.a1[1]], "∂J/∂W²")
        expectClose(flat(layers[0]["dJ_dW"]), [Self.delta1[0] * 0.05, Self.delta1[0] * 0.10,
                                               Self.delta1[1] * 0.05, Self.delta1[1] * 0.10], "∂J/∂W¹")
        expectClose(flat(layers[1]["W_updated"]), [0.40 - 0.5 * Self.delta2[0] * Self.a1[0], 0.45 - 0.5 * Self.delta2[0] * Self.a1[1],
                                                   0.50 - 0.5 * Self.delta2[1] * Self.a1[0], 0.55 - 0.5 * Self.delta2[1] * Self.a1[1]], "W² after")
        let losses = flat(object["losses"])
        #expect(losses.count == 4 && zip(losses.dropFirst(), losses).allSatisfy { $0 < $1 })
    }

    @Test func textAndMarkdownShowTheRecursion() {
        let dir = CommandRunner.temporaryDirectory("explain-text")
        let text = CommandRunner.run([tool, "explain"], in: dir).output
        #expect(text.contains("z⁽¹⁾ = W⁽¹⁾a⁽⁰⁾ + b⁽¹⁾ = [0.3775, 0.3925]"))
        #expect(text.contains("δ⁽¹⁾ = (W⁽²⁾)ᵀδ⁽²⁾ ⊙ σ′(z⁽¹⁾) = [0.008771355, 0.009954255]"))
        #expect(text.contains("W⁽²⁾ ← [[0.35891648, 0.408666186], [0.51130127, 0.561370121]]"))
        let markdown = CommandRunner.run([tool, "explain", "--format", "markdown"], in: dir).output
        #expect(markdown.hasPrefix("# One step of backpropagation") && markdown.contains("## Backward pass"))
        let bad = CommandRunner.run([tool, "explain", "--input", "1,2,3"], in: dir)
        #expect(bad.status == 2 && bad.errorOutput.contains("--input needs 2 comma-separated numbers"))
    }

    @Test func softmaxModelsShowTheFusedOutputError() {
        let dir = CommandRunner.temporaryDirectory("explain-model")
        _ = CommandRunner.run([tool, "train", "--data", "builtin:blobs", "--layers", "40", "--epochs", "2", "--output", "m.safetensors", "--quiet"], in: dir)
        let result = CommandRunner.run([tool, "explain", "--model", "m.safetensors", "--input", "0.5,-1", "--target", "2"], in: dir)
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.output.contains("δ⁽²⁾ = ŷ − y = softmax(z⁽²⁾) − y"))
        // The 40-wide hidden layer is summarised, and printed in full on request.
        #expect(result.output.contains("a⁽¹⁾ = relu(z⁽¹⁾) = shape [40], ‖·‖ ="))
        let full = CommandRunner.run([tool, "explain", "--model", "m.safetensors", "--input", "0.5,-1", "--target", "2", "--full"], in: dir)
        #expect(!full.output.contains("‖·‖"))
        let fromData = CommandRunner.run([tool, "explain", "--model", "m.safetensors", "--data", "builtin:blobs", "--row", "3", "--format", "json"], in: dir)
        #expect(fromData.status == 0 && fromData.output.contains("\"format\":\"backprop.explain.v1\""), "\(fromData.errorOutput)")
    }

    @Test func graphIsValidDOT() throws {
        let dir = CommandRunner.temporaryDirectory("explain-graph")
        let result = CommandRunner.run([tool, "explain", "--graph", "g.dot"], in: dir)
        #expect(result.status == 0)
        let dot = CommandRunner.readText(dir + "/g.dot")
        #expect(dot.hasPrefix("digraph backprop {") && dot.contains("W⁽¹⁾ (leaf)") && dot.contains("-> n1;"))
        // 14 nodes for the 2-2-2 network: 4 parameters, 2 matmuls, 2 adds, 2 sigmoids and the 4 ops of ½Σ(a − T)².
        #expect(dot.components(separatedBy: "[label=").count - 1 == 14)
        if access("/usr/bin/dot", X_OK) == 0 {
            let rendered = CommandRunner.run(["/usr/bin/dot", "-Tsvg", "g.dot", "-o", "g.svg"], in: dir)
            #expect(rendered.status == 0, "\(rendered.errorOutput)")
        }
    }

    @Test func rulesComeFromTheDerivativeTable() {
        let result = CommandRunner.run([tool, "rules"], in: "/tmp")
        #expect(result.output.contains("σ′(x) = σ(x)(1 − σ(x))"))
        #expect(result.output.contains("∂J/∂z = ŷ − y"))
        #expect(result.output.contains("ReLU′(x) = 1[x > 0]"))
    }
    /// A convolutional model is explained layer by layer, the convolution's input gradient as the full correlation
    /// of δ with the flipped kernel next to the engine's.
    @Test func convolutionalModelsAreExplainedLayerByLayer() throws {
        let dir = CommandRunner.temporaryDirectory("explain-conv")
        ConvolutionalCommandTests.writeBars(to: dir + "/bars.csv", count: 40, seed: 9)
        let trained = CommandRunner.run([tool, "train", "--data", "bars.csv", "--model", "conv 2 3x3 same relu, maxpool 2, flatten, dense 2",
                                         "--input-shape", "8x8", "--epochs", "2", "--output", "conv.st", "--quiet"], in: dir)
        try #require(trained.status == 0, "\(trained.errorOutput)")
        let text = CommandRunner.run([tool, "explain", "--model", "conv.st", "--data", "bars.csv", "--row", "2", "--graph", "g.dot"], in: dir)
        #expect(text.status == 0, "\(text.errorOutput)")
        #expect(text.output.contains("a⁽¹⁾ = W⁽¹⁾ ⋆ a⁽⁰⁾ + b⁽¹⁾"))
        #expect(text.output.contains("∂J/∂a⁽⁰⁾ = δ⁽¹⁾ ⋆ rot180(W⁽¹⁾), the full correlation with the flipped kernel"))
        #expect(text.output.contains("largest difference from the engine's"))
        #expect(CommandRunner.readText(dir + "/g.dot").contains("W⁽¹⁾"))
        let json = CommandRunner.run([tool, "explain", "--model", "conv.st", "--data", "bars.csv", "--format", "json"], in: dir)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect(object["format"] as? String == "backprop.explain.layers.v1")
        let layers = try #require(object["layers"] as? [[String: Any]])
        #expect(layers.map { $0["kind"] as? String } == ["conv2d", "activation", "maxpool2d", "flatten", "dense"])
        let input = try #require(layers[0]["dJ_dinput"] as? [String: Any]), flipped = try #require(layers[0]["dJ_dinput_flipped_kernel"] as? [String: Any])
        let a = flat(input["values"]), b = flat(flipped["values"])
        #expect(a.count == 64 && b.count == 64)
        for (x, y) in zip(a, b) { #expect(Swift.abs(x - y) < 1e-14) }
    }
}

@Suite("backprop gradcheck and gradients")
struct GradientCommandTests {
    let tool = CommandRunner.backprop

    @Test func gradcheckPassesAndGradientsAreWritten() throws {
        let dir = CommandRunner.temporaryDirectory("gradcheck")
        _ = CommandRunner.run([tool, "train", "--data", "builtin:moons", "--layers", "8", "--activation", "tanh", "--epochs", "2", "--output", "m.safetensors", "--quiet"], in: dir)
        let check = CommandRunner.run([tool, "gradcheck", "--model", "m.safetensors", "--data", "builtin:moons", "--samples", "5"], in: dir)
        #expect(check.status == 0, "\(check.output)\(check.errorOutput)")
        #expect(check.output.contains("0.weight: 16 elements") && check.output.hasSuffix("PASS\n"))
        let written = CommandRunner.run([tool, "gradients", "--model", "m.safetensors", "--data", "builtin:moons", "--output", "g.safetensors"], in: dir)
        #expect(written.status == 0, "\(written.errorOutput)")
        // Compare the written gradients with central differences of the mean loss, computed here from forward passes.
        let file = try #require(CommandRunner.readBytes(dir + "/g.safetensors"))
        let stored = try Safetensors.decode(file, file: "g.safetensors").tensors
        let saved = try SavedModel<Double>.read(from: dir + "/m.safetensors")
        let data: PreparedData<Double> = try DataSource.builtin(.moons).prepare(for: saved.info, split: .test, seed: 42)
        let (x, targets) = data.data.batch(at: Array(0..<data.data.count))
        func meanLoss(_ model: Sequential<Double>) -> Double { SoftmaxCrossEntropy()(model(x), targets).scalar }
        for name in ["0.weight", "0.bias", "2.weight"] {
            let gradient: Tensor<Double> = try #require(stored[name]).tensor()
            let index = saved.model.parameterNames.firstIndex(of: name)!
            for element in [0, 3, 5] {
                var plus = saved.model, minus = saved.model
                var p = plus.parameters, m = minus.parameters
                p[index].withUnsafeMutablePointer { $0[element] += 1e-5 }
                m[index].withUnsafeMutablePointer { $0[element] -= 1e-5 }
                plus.parameters = p
                minus.parameters = m
                let numeric = (meanLoss(plus) - meanLoss(minus)) / 2e-5
                let analytic = gradient.scalars[element]
                #expect(Swift.abs(numeric - analytic) / Swift.max(Swift.abs(numeric), 1e-3) < 1e-6, "\(name)[\(element)]: \(analytic) vs \(numeric)")
            }
        }
        let during = CommandRunner.run([tool, "train", "--data", "builtin:moons", "--epochs", "2", "--gradcheck-every", "1"], in: dir)
        #expect(during.status == 0 && during.output.contains("gradient check after epoch 2: PASS"))
    }

}
