import BackpropCore
import BackpropData
import BackpropNN
import BackpropTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Convolutional networks through the command line: `--model`, `--input-shape`, and every command on the result.
@Suite("Convolutional networks on the command line", .serialized)
struct ConvolutionalCommandTests {
    let tool = CommandRunner.backprop
    static let network = "conv 4 3x3 same nobias, batchnorm, relu, maxpool 2, flatten, dropout 0.25, dense 2"

    func run(_ arguments: [String], in directory: String) -> CommandResult {
        CommandRunner.run([tool] + arguments, in: directory)
    }

    /// A CSV of 8×8 images of a horizontal or vertical bar: 64 pixel columns and a label column.
    static func writeBars(to path: String, count: Int, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var lines = [((0..<64).map { "p\($0)" } + ["bar"]).joined(separator: ",")]
        for _ in 0..<count {
            let vertical = generator.next() % 2 == 1, position = Int(generator.next() % 8)
            let pixels = (0..<64).map { i -> String in
                let onBar = vertical ? i % 8 == position : i / 8 == position
                return String(format: "%.3f", (onBar ? 1.0 : 0.0) + generator.nextUnitInterval() * 0.3)
            }
            lines.append((pixels + [vertical ? "vertical" : "horizontal"]).joined(separator: ","))
        }
        CommandRunner.writeText(lines.joined(separator: "\n") + "\n", to: path)
    }

    @Test func trainInspectEvaluatePredictAndCheck() throws {
        let dir = CommandRunner.temporaryDirectory("cli-conv")
        Self.writeBars(to: dir + "/bars.csv", count: 300, seed: 1)
        Self.writeBars(to: dir + "/test.csv", count: 100, seed: 2)
        let trained = run(["train", "--data", "bars.csv", "--test-data", "test.csv", "--model", Self.network, "--input-shape", "8x8",
                           "--epochs", "6", "--learning-rate", "0.01", "--output", "conv.st"], in: dir)
        try #require(trained.status == 0, "\(trained.errorOutput)")
        #expect(trained.output.contains("samples of 1×8×8"))
        #expect(trained.output.contains("0  Conv2D(1 → 4, 3×3 padding 1,1,1,1, no bias)  → [4, 8, 8]"))
        let saved = try SavedModel<Float>.read(from: dir + "/conv.st")
        #expect(saved.model.inputShape == [1, 8, 8] && saved.model.stateNames == ["1.running_mean", "1.running_var"])
        #expect(saved.info.training?.options?["--model"] == Self.network)

        let inspect = run(["inspect", "--model", "conv.st"], in: dir)
        #expect(inspect.status == 0 && inspect.output.contains("3  MaxPool2D(2×2 stride 2×2)  → [4, 4, 4]"))
        let evaluate = run(["evaluate", "--model", "conv.st", "--data", "test.csv"], in: dir)
        #expect(evaluate.status == 0, "\(evaluate.errorOutput)")
        #expect(Self.accuracy(in: evaluate.output) > 90, "\(evaluate.output)")
        let predict = run(["predict", "--model", "conv.st", "--data", "test.csv", "--output", "predictions.csv"], in: dir)
        #expect(predict.status == 0, "\(predict.errorOutput)")
        let rows = CommandRunner.readText(dir + "/predictions.csv").split(separator: "\n")
        #expect(rows.count == 101)
        let check = run(["gradcheck", "--model", "conv.st", "--data", "test.csv"], in: dir)
        #expect(check.status == 0 && check.output.contains("PASS"), "\(check.output)\(check.errorOutput)")
    }

    /// The percentage on the `accuracy` line of `evaluate`'s output, or 0.
    static func accuracy(in output: String) -> Double {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("accuracy") }) else { return 0 }
        let words = line.split(separator: " ")
        guard words.count > 1 else { return 0 }
        return Double(words[1].filter { $0 != "%" }) ?? 0
    }

    /// `--precision bf16` trains a convolutional network too, and its gradient report compares with Float32.
    @Test func bfloat16ProductsTrainAConvolutionalNetwork() throws {
        let dir = CommandRunner.temporaryDirectory("cli-conv-bf16")
        Self.writeBars(to: dir + "/bars.csv", count: 300, seed: 1)
        Self.writeBars(to: dir + "/test.csv", count: 100, seed: 2)
        let trained = run(["train", "--data", "bars.csv", "--test-data", "test.csv", "--model", Self.network, "--input-shape", "8x8",
                           "--epochs", "6", "--learning-rate", "0.01", "--precision", "bf16", "--gradient-report",
                           "--output", "conv.st"], in: dir)
        try #require(trained.status == 0, "\(trained.errorOutput)")
        #expect(trained.output.contains("products in bfloat16") && trained.output.contains("vs float32"), "\(trained.output)")
        let evaluate = run(["evaluate", "--model", "conv.st", "--data", "test.csv"], in: dir)
        #expect(evaluate.status == 0 && Self.accuracy(in: evaluate.output) > 90, "\(evaluate.output) \(evaluate.errorOutput)")
    }

    @Test func mistakesAreNamed() throws {
        let dir = CommandRunner.temporaryDirectory("cli-conv-errors")
        Self.writeBars(to: dir + "/bars.csv", count: 20, seed: 3)
        func refused(_ extra: [String], _ message: String) {
            let result = run(["train", "--data", "bars.csv", "--epochs", "1"] + extra, in: dir)
            #expect(result.status != 0 && result.errorOutput.contains(message), "\(result.errorOutput)")
        }
        refused(["--model", Self.network], "a convolution takes images [channels, height, width], not samples of shape [64] (give the data's shape with --input-shape)")
        refused(["--model", Self.network, "--input-shape", "9x9"], "--input-shape 1x9x9 holds 81 values; the data has 64 features per sample")
        refused(["--model", Self.network, "--input-shape", "8x0"], "--input-shape must be CxHxW or HxW with positive sizes")
        refused(["--model", "conv 4 3x3, flatten, dense 3", "--input-shape", "8x8"], "--model ends with 3 outputs per sample; this data needs 2 outputs (one per class): end it with 'dense 2'")
        refused(["--model", "conv 4 3x3, flatten, dense 2, softmax", "--input-shape", "8x8"], "--model ends with softmax")
        refused(["--model", "conv 4 3x3 rleu", "--input-shape", "8x8"], "--model: layer 1 'conv 4 3x3 rleu': 'rleu' is not an activation")
        refused(["--model", "dense 2", "--layers", "4"], "--model describes the whole network")
    }

    /// A run with batch normalisation interrupted mid-epoch by Ctrl-C resumes to the uninterrupted run's weights and
    /// running statistics, bit for bit.
    @Test func ctrlCMidEpochResumesBitIdentically() throws {
        let dir = CommandRunner.temporaryDirectory("cli-conv-resume")
        Self.writeBars(to: dir + "/bars.csv", count: 600, seed: 4)
        // Enough epochs that the run cannot end before the signal, however long a busy machine keeps this test from
        // polling (with 20, a suite that oversubscribed both cores once let the child finish first).
        let options = ["--data", "bars.csv", "--model", Self.network, "--input-shape", "8x8", "--batch-size", "8", "--epochs", "100"]
        let process = CommandRunner.start([tool, "train", "--checkpoint", "c.st"] + options, in: dir)
        try #require(process.pid > 0)
        for _ in 0..<6000 where !process.outputSoFar.contains("epoch 2/100 ") { usleep(10_000) }
        usleep(20_000)
        kill(process.pid, SIGINT)
        let interrupted = process.wait()
        #expect(interrupted.status == 130, "\(interrupted.errorOutput)")
        let state = try CheckpointFile<Float>.read(from: dir + "/c.st").checkpoint
        #expect(!state.state.isEmpty)
        let resumed = run(["train", "--resume", "c.st", "--output", "resumed.st", "--quiet"] + options, in: dir)
        #expect(resumed.status == 0, "\(resumed.errorOutput)")
        let full = run(["train", "--output", "full.st", "--quiet"] + options, in: dir)
        #expect(full.status == 0)
        let a = try SavedModel<Float>.read(from: dir + "/resumed.st").model, b = try SavedModel<Float>.read(from: dir + "/full.st").model
        #expect(a.parameters == b.parameters && a.state == b.state)
    }
}
