import BackpropCore
import BackpropData
import BackpropTestSupport
import Foundation
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

    /// Every option that decides what a step computes must match the checkpoint's: all differences are listed in one
    /// error; the epochs may be raised, with a note.
    @Test func resumeComparesEveryOption() throws {
        let dir = CommandRunner.temporaryDirectory("cli-resume-options")
        let part = CommandRunner.run([tool, "train", "--epochs", "2", "--checkpoint", "c.st", "--checkpoint-every", "1"] + options, in: dir)
        #expect(part.status == 0, "\(part.errorOutput)")
        let changed = CommandRunner.run([tool, "train", "--epochs", "4", "--resume", "c.st", "--activation", "tanh", "--loss", "cross-entropy",
                                         "--weight-decay", "0.01", "--clip-norm", "1", "--validation-split", "0.2"] + options, in: dir)
        #expect(changed.status == 1, "\(changed.errorOutput)")
        for expected in ["--activation relu (now tanh)", "--loss softmax-cross-entropy (now cross-entropy)", "--weight-decay 0.0 (now 0.01)",
                         "--clip-norm none (now 1.0)", "--validation-split 0.0 (now 0.2)"] {
            #expect(changed.errorOutput.contains(expected), "\(expected): \(changed.errorOutput)")
        }
        #expect(changed.errorOutput.split(separator: "\n").count == 1)
        let scaled = CommandRunner.run([tool, "train", "--epochs", "4", "--resume", "c.st", "--scale", "minmax"] + options, in: dir)
        #expect(scaled.status == 1 && scaled.errorOutput.contains("--scale standard (now minmax)"), "\(scaled.errorOutput)")
        let longer = CommandRunner.run([tool, "train", "--epochs", "4", "--resume", "c.st", "--output", "m.st"] + options, in: dir)
        #expect(longer.status == 0 && longer.errorOutput.contains("note: resuming with --epochs 4 instead of 2"), "\(longer.errorOutput)")
        #expect(try SavedModel<Float>.read(from: dir + "/m.st").info.training?.history.count == 4)
    }

    /// Checkpoints altered after they were written: non-finite optimizer state or weights, a running total that is
    /// not a number, optimizer state for another optimizer. Each is refused with one line by every command.
    @Test func craftedCheckpointsAreRefused() throws {
        let dir = CommandRunner.temporaryDirectory("cli-crafted")
        let part = CommandRunner.run([tool, "train", "--epochs", "1", "--checkpoint", "c.st", "--checkpoint-every", "1"] + options, in: dir)
        #expect(part.status == 0, "\(part.errorOutput)")
        let (tensors, metadata) = try Safetensors.decode(try #require(CommandRunner.readBytes(dir + "/c.st")), file: "c.st")
        func write(_ name: String, tensors: [String: Safetensors.Entry], metadata: [String: String]) throws {
            let list = tensors.keys.sorted().map { (name: $0, entry: tensors[$0]!) }
            CommandRunner.writeBytes(try Safetensors.encode(list, metadata: metadata), to: dir + "/" + name)
        }
        func poisoned(_ name: String) -> [String: Safetensors.Entry] {
            var copy = tensors
            copy[name] = Safetensors.Entry(Tensor<Float>(shape: tensors[name]!.shape, repeating: .nan))
            return copy
        }
        try write("nan-state.st", tensors: poisoned("optimizer.0.weight.1"), metadata: metadata)
        try write("nan-weight.st", tensors: poisoned("2.weight"), metadata: metadata)
        var total = metadata
        total["checkpoint"] = metadata["checkpoint"]!.replacingOccurrences(of: "\"lossSum\":0", with: "\"lossSum\":\"nan\"")
        try write("nan-total.st", tensors: tensors, metadata: total)
        // Adam's second moments removed: state for an optimizer with one slot.
        try write("one-slot.st", tensors: tensors.filter { !$0.key.hasSuffix(".1") || !$0.key.hasPrefix("optimizer.") }, metadata: metadata)
        let cases = [("nan-state.st", "optimizer state 'optimizer.0.weight.1' contains NaN or infinite values"),
                     ("nan-weight.st", "weight '2.weight' contains NaN or infinite values"),
                     ("one-slot.st", "optimizer state do not match")]
        for (file, message) in cases {
            let resume = CommandRunner.run([tool, "train", "--epochs", "2", "--resume", file] + options, in: dir)
            #expect(resume.status == 1 && resume.errorOutput.contains(message), "\(file): \(resume.errorOutput)")
            #expect(resume.errorOutput.split(separator: "\n").filter { !$0.hasPrefix("note: ") }.count == 1)
        }
        let evaluate = CommandRunner.run([tool, "evaluate", "--model", "nan-weight.st", "--data", "builtin:moons"], in: dir)
        #expect(evaluate.status == 1 && evaluate.errorOutput.contains("contains NaN"), "\(evaluate.errorOutput)")
        let resumeTotal = CommandRunner.run([tool, "train", "--epochs", "2", "--resume", "nan-total.st"] + options, in: dir)
        #expect(resumeTotal.status == 1 && resumeTotal.errorOutput.contains("non-finite or negative running total"), "\(resumeTotal.errorOutput)")
    }
}
