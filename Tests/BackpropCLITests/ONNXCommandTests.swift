import BackpropData
import BackpropTestSupport
import Foundation
import Testing

/// `backprop export` and `backprop import` (the comparison with ONNX Runtime is `.ci/onnx_interop.py`).
@Suite("ONNX on the command line", .serialized)
struct ONNXCommandTests {
    let tool = CommandRunner.backprop

    func run(_ arguments: [String], in directory: String) -> CommandResult {
        CommandRunner.run([tool] + arguments, in: directory)
    }

    @Test func exportImportRoundTrip() throws {
        let dir = CommandRunner.temporaryDirectory("cli-onnx")
        ConvolutionalCommandTests.writeBars(to: dir + "/bars.csv", count: 120, seed: 1)
        let trained = run(["train", "--data", "bars.csv", "--model", ConvolutionalCommandTests.network, "--input-shape", "8x8",
                           "--epochs", "2", "--quiet", "--output", "conv.st"], in: dir)
        try #require(trained.status == 0, "\(trained.errorOutput)")

        let exported = run(["export", "conv.st", "--output", "conv.onnx"], in: dir)
        #expect(exported.status == 0, "\(exported.errorOutput)")
        #expect(exported.output.contains("wrote conv.onnx: ONNX operator set 20, input 'input', output 'probabilities'"))
        let imported = run(["import", "conv.onnx", "--output", "back.st"], in: dir)
        #expect(imported.status == 0, "\(imported.errorOutput)")
        #expect(imported.errorOutput.isEmpty)
        #expect(imported.output.contains("wrote back.st: 7 layers"))
        #expect(try SavedModel<Float>.read(from: dir + "/back.st").model.parameters == SavedModel<Float>.read(from: dir + "/conv.st").model.parameters)
        let first = run(["predict", "--model", "conv.st", "--data", "bars.csv", "--probabilities"], in: dir)
        let second = run(["predict", "--model", "back.st", "--data", "bars.csv", "--probabilities"], in: dir)
        #expect(first.status == 0 && first.output == second.output)

        // The imported model trains further, as itself.
        let tuned = run(["train", "--data", "bars.csv", "--initial-model", "back.st", "--epochs", "1", "--quiet", "--output", "tuned.st"], in: dir)
        #expect(tuned.status == 0, "\(tuned.errorOutput)")
        let before = try SavedModel<Float>.read(from: dir + "/back.st"), after = try SavedModel<Float>.read(from: dir + "/tuned.st")
        #expect(after.model.summary == before.model.summary && after.model.parameters != before.model.parameters)
        #expect(after.info.columns == before.info.columns && after.info.preprocessing == before.info.preprocessing)
        #expect(after.info.training?.options?["--initial-model"] == "back.st")
        let clash = run(["train", "--data", "bars.csv", "--initial-model", "back.st", "--model", "dense 2"], in: dir)
        #expect(clash.status == 2 && clash.errorOutput.contains("--initial-model brings its own network; --model cannot be used with it"))

        // Outputs are checked before any work: a model file is not replaced by an ONNX file without --force, nor an
        // ONNX file by a model.
        let refused = run(["export", "conv.st", "--output", "back.st"], in: dir)
        #expect(refused.status == 1 && refused.errorOutput.contains("back.st is a Backprop model"), "\(refused.errorOutput)")
        let notAModel = run(["import", "conv.onnx", "--output", "conv.onnx"], in: dir)
        #expect(notAModel.status == 1 && notAModel.errorOutput.contains("conv.onnx exists and is not a Backprop model"), "\(notAModel.errorOutput)")
        #expect(try SavedModel<Float>.read(from: dir + "/back.st").model.parameterCount > 0)
    }

    @Test func badFilesAreOneLineErrors() throws {
        let dir = CommandRunner.temporaryDirectory("cli-onnx-bad")
        CommandRunner.writeText("not protobuf at all", to: dir + "/junk.onnx")
        let junk = run(["import", "junk.onnx", "--output", "m.st"], in: dir)
        #expect(junk.status == 1 && junk.errorOutput.hasPrefix("error: junk.onnx: not a valid model file: not a valid ONNX model:"), "\(junk.errorOutput)")
        #expect(junk.errorOutput.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/m.st"))

        let missing = run(["export", "nothing.st", "--output", "m.onnx"], in: dir)
        #expect(missing.status == 1 && missing.errorOutput.contains("nothing.st"), "\(missing.errorOutput)")
        let format = run(["export", "nothing.st", "--format", "tflite", "--output", "m.onnx"], in: dir)
        #expect(format.status == 2 && format.errorOutput.contains("onnx"), "\(format.errorOutput)")
    }
}
