import BackpropCore
import BackpropData
import BackpropTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Never lose a model", .serialized)
struct CrashSafetyTests {
    let tool = CommandRunner.backprop

    /// SIGKILL at random moments while a 1.3-million-parameter checkpoint is rewritten every epoch: the file on disk
    /// is always a complete, valid checkpoint (the old one or the new one), never a torn one.
    @Test func killedDuringSavesLeavesACompleteFile() throws {
        let dir = CommandRunner.temporaryDirectory("sigkill")
        var generator = SeededGenerator(seed: 11)
        var epochsSeen: [Int] = []
        for round in 0..<6 {
            let process = CommandRunner.start([tool, "train", "--data", "builtin:spirals", "--layers", "1024,1024",
                                               "--epochs", "100000", "--batch-size", "600", "--checkpoint", "c.safetensors",
                                               "--checkpoint-every", "1", "--quiet"], in: dir)
            try #require(process.pid > 0, "could not start \(tool)")
            // Once a checkpoint exists (the first epoch takes longer on slower kernels), at a random moment of the
            // saves that follow, one per epoch.
            for _ in 0..<12_000 where access(dir + "/c.safetensors", F_OK) != 0 { usleep(10_000) }
            usleep(UInt32(generator.nextIndex(below: 1_500_000)))
            kill(process.pid, SIGKILL)
            let result = process.wait()
            #expect(result.status == 128 + SIGKILL, "round \(round): \(result.errorOutput)")
            guard access(dir + "/c.safetensors", F_OK) == 0 else { continue }
            let checkpoint = try CheckpointFile<Float>.read(from: dir + "/c.safetensors")
            #expect(checkpoint.saved.model.parameterCount == 2 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 2 + 2)
            epochsSeen.append(checkpoint.checkpoint.completedEpochs)
        }
        #expect(!epochsSeen.isEmpty, "no checkpoint was ever written")
    }

    /// Every prefix of a valid model file is rejected with a descriptive error (never a crash), and so is every
    /// single-byte corruption of its header length.
    @Test func everyTruncationIsADescriptiveError() throws {
        let dir = CommandRunner.temporaryDirectory("truncate")
        _ = CommandRunner.run([tool, "train", "--data", "builtin:xor", "--layers", "3", "--epochs", "1", "--output", "m.safetensors", "--quiet"], in: dir)
        let original = try #require(CommandRunner.readBytes(dir + "/m.safetensors"))
        #expect(!original.isEmpty)
        _ = try SavedModel<Float>.decode(original, file: "m")
        for length in 0..<original.count {
            #expect(throws: (any Error).self, "prefix of \(length) bytes") {
                try SavedModel<Float>.decode(Array(original[..<length]), file: "m")
            }
        }
        for position in 0..<8 {
            var damaged = original
            damaged[position] ^= 0xFF
            #expect(throws: (any Error).self) { try SavedModel<Float>.decode(damaged, file: "m") }
        }
    }

    @Test func deeplyNestedOrHugeHeadersAreRejected() {
        func file(_ header: String) -> [UInt8] {
            var length = UInt64(header.utf8.count).littleEndian
            return withUnsafeBytes(of: &length) { Array($0) } + Array(header.utf8)
        }
        let nested = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: ModelFileError.self) { try SavedModel<Float>.decode(file(nested), file: "deep") }
        #expect(throws: ModelFileError.self) { try SavedModel<Float>.decode(file("{\"a\":\"\u{FFFD}\"}"), file: "odd") }
        var invalidUTF8 = file("{\"a\":1}")
        invalidUTF8[10] = 0xFF
        #expect(throws: ModelFileError.self) { try SavedModel<Float>.decode(invalidUTF8, file: "utf8") }
    }
}
