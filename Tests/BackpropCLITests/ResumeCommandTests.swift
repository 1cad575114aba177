import BackpropCore
import BackpropData
import BackpropTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Checkpoints and Ctrl-C", .serialized)
struct ResumeCommandTests {
    let tool = CommandRunner.backprop
    let options = ["--data", "builtin:moons", "--layers", "16", "--batch-size", "16", "--learning-rate", "0.02", "--quiet"]

    func weights(_ path: String) throws -> [Tensor<Float>] { try SavedModel<Float>.read(from: path).model.parameters }

    @Test func resumingAfterAnEpochIsBitIdentical() throws {
        let dir = CommandRunner.temporaryDirectory("cli-resume")
        let full = CommandRunner.run([tool, "train", "--epochs", "6", "--output", "full.safetensors"] + options, in: dir)
        #expect(full.status == 0, "\(full.errorOutput)")
        let part = CommandRunner.run([tool, "train", "--epochs", "3", "--checkpoint", "c.safetensors", "--checkpoint-every", "1"] + options, in: dir)
        #expect(part.status == 0, "\(part.errorOutput)")
        let rest = CommandRunner.run([tool, "train", "--epochs", "6", "--resume", "c.safetensors", "--output", "resumed.safetensors"] + options, in: dir)
        #expect(rest.status == 0, "\(rest.errorOutput)")
        #expect(try weights(dir + "/resumed.safetensors") == weights(dir + "/full.safetensors"))
        let a = try SavedModel<Float>.read(from: dir + "/full.safetensors").info.training!.history
        let b = try SavedModel<Float>.read(from: dir + "/resumed.safetensors").info.training!.history
        #expect(a.map(\.trainLoss) == b.map(\.trainLoss) && a.map(\.trainAccuracy) == b.map(\.trainAccuracy))
        // Resuming with other options is refused, naming the option.
        let wrong = CommandRunner.run([tool, "train", "--epochs", "6", "--resume", "c.safetensors", "--seed", "7"] + options, in: dir)
        #expect(wrong.status == 1 && wrong.errorOutput.contains("--seed"))
    }

    @Test func ctrlCWritesACheckpointAndResumesExactly() throws {
        let dir = CommandRunner.temporaryDirectory("cli-sigint")
        let epochs = ["--epochs", "400"]
        let verbose = options.filter { $0 != "--quiet" }  // its epoch lines show how far it has got
        let process = CommandRunner.start([tool, "train", "--checkpoint", "ctrl-c.safetensors"] + epochs + verbose, in: dir)
        try #require(process.pid > 0, "could not start \(tool)")  // never signal pid 0 or -1 (a process group, or everyone)
        // Interrupt once a few epochs are done: a fixed delay is outrun by a fast build.
        for _ in 0..<6000 where !process.outputSoFar.contains("epoch 3/400") { usleep(10_000) }
        kill(process.pid, SIGINT)
        let interrupted = process.wait()
        #expect(interrupted.status == 130, "\(interrupted.errorOutput)")
        #expect(interrupted.errorOutput.contains("backprop train --resume ctrl-c.safetensors"))
        let state = try CheckpointFile<Float>.read(from: dir + "/ctrl-c.safetensors").checkpoint
        #expect(state.completedEpochs < 400)

        let resumed = CommandRunner.run([tool, "train", "--resume", "ctrl-c.safetensors", "--output", "resumed.safetensors"] + epochs + options, in: dir)
        #expect(resumed.status == 0, "\(resumed.errorOutput)")
        let full = CommandRunner.run([tool, "train", "--output", "full.safetensors"] + epochs + options, in: dir)
        #expect(full.status == 0)
        #expect(try weights(dir + "/resumed.safetensors") == weights(dir + "/full.safetensors"))
    }

    @Test func secondCtrlCExitsAtOnceWithoutWriting() throws {
        let dir = CommandRunner.temporaryDirectory("cli-sigint2")
        // Layers wide enough that one batch takes a while, so both signals arrive within it.
        let process = CommandRunner.start([tool, "train", "--epochs", "100000", "--layers", "3000,3000", "--batch-size", "600",
                                           "--checkpoint", "never.safetensors", "--quiet"], in: dir)
        try #require(process.pid > 0, "could not start \(tool)")
        usleep(2_000_000)
        kill(process.pid, SIGINT)
        usleep(20_000)
        kill(process.pid, SIGINT)
        let result = process.wait()
        #expect(result.status == 130)
        #expect(access(dir + "/never.safetensors", F_OK) != 0)
    }
}
