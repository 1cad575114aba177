import BackpropTestSupport
import Foundation
import Testing

/// What the library can do reaches the command line: dropout, schedules with warm-up, reduce-on-plateau, class
/// weights, TensorBoard.
@Suite("backprop train: schedules, regularisation, class weights")
struct TrainingOptionsTests {
    let tool = CommandRunner.backprop

    func run(_ arguments: [String], in directory: String) -> CommandResult {
        CommandRunner.run([tool] + arguments, in: directory)
    }

    /// The learning rate of each epoch, from the metrics file.
    func rates(_ path: String) -> [Double] {
        CommandRunner.readText(path).split(separator: "\n").dropFirst().compactMap { Double($0.split(separator: ",", omittingEmptySubsequences: false).last!) }
    }

    @Test func warmUpThenScheduleAndPlateau() {
        let dir = CommandRunner.temporaryDirectory("cli-schedules")
        let warm = run(["train", "--epochs", "5", "--learning-rate", "0.01", "--warmup-epochs", "2", "--schedule", "exponential:0.5",
                        "--metrics", "warm.csv", "--quiet"], in: dir)
        #expect(warm.status == 0, "\(warm.errorOutput)")
        #expect(rates(dir + "/warm.csv") == [0.005, 0.01, 0.01, 0.005, 0.0025])
        // Steps far below a weight's last bit leave the validation loss exactly where it is: the plateau halves the
        // rate after every 2 epochs without improvement.
        let plateau = run(["train", "--epochs", "6", "--optimizer", "sgd", "--learning-rate", "1e-30", "--validation-split", "0.25",
                           "--reduce-lr-on-plateau", "0.5:2", "--metrics", "plateau.csv", "--quiet"], in: dir)
        #expect(plateau.status == 0, "\(plateau.errorOutput)")
        #expect(rates(dir + "/plateau.csv") == [1e-30, 1e-30, 1e-30, 5e-31, 5e-31, 2.5e-31])
    }

    @Test func dropoutAndClassWeightsTrainAndAreRecorded() {
        let dir = CommandRunner.temporaryDirectory("cli-class-weights")
        let result = run(["train", "--epochs", "3", "--layers", "16", "--dropout", "0.2", "--class-weights", "balanced",
                          "--output", "m.safetensors", "--checkpoint", "c.safetensors", "--checkpoint-every", "1", "--quiet"], in: dir)
        #expect(result.status == 0, "\(result.errorOutput)")
        let inspect = run(["inspect", "--model", "m.safetensors"], in: dir)
        #expect(inspect.output.contains("Dropout(0.2)") || inspect.output.contains("dropout"), "\(inspect.output)")
        // Resuming with other class weights would compute other steps: refused, naming the option.
        let resumed = run(["train", "--epochs", "4", "--layers", "16", "--dropout", "0.2", "--class-weights", "1,3",
                           "--resume", "c.safetensors", "--quiet"], in: dir)
        #expect(resumed.status != 0 && resumed.errorOutput.contains("--class-weights balanced (now 1,3)"), "\(resumed.errorOutput)")
        let wrong = run(["train", "--class-weights", "1,2,3", "--epochs", "1"], in: dir)
        #expect(wrong.status != 0 && wrong.errorOutput.contains("2 numbers"), "\(wrong.errorOutput)")
        let numeric = run(["train", "--data", "builtin:sine", "--class-weights", "balanced", "--epochs", "1"], in: dir)
        #expect(numeric.status != 0 && numeric.errorOutput.contains("numeric targets"), "\(numeric.errorOutput)")
    }

    @Test func bfloat16ProductsTrainAndAreRecorded() {
        let dir = CommandRunner.temporaryDirectory("cli-bf16")
        let result = run(["train", "--epochs", "30", "--precision", "bf16", "--checkpoint", "c.safetensors", "--checkpoint-every", "30",
                          "--output", "m.safetensors"], in: dir)
        #expect(result.status == 0 && result.output.contains("products in bfloat16"), "\(result.output) \(result.errorOutput)")
        let resumed = run(["train", "--epochs", "31", "--resume", "c.safetensors", "--quiet"], in: dir)
        #expect(resumed.status != 0 && resumed.errorOutput.contains("--precision bf16 (now float32)"), "\(resumed.errorOutput)")
        let regression = run(["train", "--data", "builtin:sine", "--precision", "bf16", "--epochs", "1"], in: dir)
        #expect(regression.status != 0 && regression.errorOutput.contains("fused perceptron and convolutional steps"),
                "\(regression.errorOutput)")
    }

    /// The gradient report of a bfloat16 run shows each weight's relative distance from Float32 gradients: small, but
    /// not zero (the products did round).
    @Test func theGradientReportComparesBFloat16WithFloat32() throws {
        let dir = CommandRunner.temporaryDirectory("cli-bf16-report")
        let result = run(["train", "--epochs", "2", "--precision", "bf16", "--gradient-report"], in: dir)
        #expect(result.status == 0 && result.output.contains("vs float32"), "\(result.output) \(result.errorOutput)")
        let rows = result.output.split(separator: "\n").filter { $0.contains(".weight") }
        #expect(rows.count >= 4, "\(result.output)")
        for row in rows {
            let error = try #require(row.split(separator: " ").last.flatMap { Double($0) }, "\(row)")
            #expect(error > 0 && error < 0.05, "\(row)")
        }
        let float32 = run(["train", "--epochs", "1", "--gradient-report"], in: dir)
        #expect(float32.status == 0 && !float32.output.contains("vs float32"), "\(float32.output)")
    }

    @Test func tensorboardEventFilesAreWritten() throws {
        let dir = CommandRunner.temporaryDirectory("cli-tensorboard")
        let result = run(["train", "--epochs", "2", "--tensorboard", "runs/first", "--quiet"], in: dir)
        #expect(result.status == 0, "\(result.errorOutput)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/runs/first")
        #expect(files.count == 1 && files[0].hasPrefix("events.out.tfevents."), "\(files)")
    }
}
