import BackpropData
import BackpropTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the paths given to `backprop` name is respected: FIFOs are refused at once, devices are written to,
/// symbolic links are written through, permissions are kept, stale temporaries are cleaned; signals end the run
/// with the right status.
@Suite("Files and signals", .serialized)
struct FileSafetyTests {
    let tool = CommandRunner.backprop

    func run(_ arguments: [String], in directory: String, timeout: Double = 60) -> CommandResult? {
        CommandRunner.start([tool] + arguments, in: directory).wait(timeout: timeout)
    }

    func fileType(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    @Test func fifosAreRefusedWithoutWaiting() throws {
        let dir = CommandRunner.temporaryDirectory("fifo")
        #expect(mkfifo(dir + "/pipe", 0o644) == 0)
        let cases: [([String], String)] = [
            (["train", "--data", "pipe"], "pipe: not a regular file (a FIFO)"),
            (["evaluate", "--model", "pipe", "--data", "builtin:xor"], "pipe: not a regular file (a FIFO)"),
            (["train", "--epochs", "1", "--output", "pipe"], "cannot write pipe: it is a FIFO"),
            (["train", "--epochs", "1", "--metrics", "pipe"], "cannot write pipe: it is a FIFO"),
        ]
        for (arguments, message) in cases {
            let result = try #require(run(arguments, in: dir, timeout: 20), "\(arguments) did not end")
            #expect(result.status == 1 && result.errorOutput.contains(message), "\(arguments): \(result.errorOutput)")
        }
        #expect(fileType(dir + "/pipe") == S_IFIFO)
    }

    @Test func devicesAreWrittenNotReplaced() throws {
        let dir = CommandRunner.temporaryDirectory("devices")
        let result = try #require(run(["train", "--epochs", "2", "--metrics", "/dev/null", "--plot", "/dev/null", "--quiet"], in: dir))
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(fileType("/dev/null") == S_IFCHR)
        _ = run(["train", "--data", "builtin:xor", "--epochs", "1", "--output", "m.st", "--quiet"], in: dir)
        let predict = try #require(run(["predict", "--model", "m.st", "--data", "builtin:xor", "--output", "/dev/stdout"], in: dir))
        #expect(predict.status == 0 && predict.output.hasPrefix("row,prediction\n"), "\(predict.errorOutput)")
        // Standard output connected to a pipe is written to as it is.
        let piped = CommandRunner.run(["/bin/sh", "-c", "\"$0\" predict --model m.st --data builtin:xor --output /dev/stdout | cat > piped.csv",
                                       tool], in: dir)
        #expect(piped.status == 0 && CommandRunner.readText(dir + "/piped.csv").hasPrefix("row,prediction\n"), "\(piped.errorOutput)")
    }

    @Test func symbolicLinksAreWrittenThroughAndModesKept() throws {
        let dir = CommandRunner.temporaryDirectory("links")
        mkdir(dir + "/models", 0o755)
        _ = run(["train", "--data", "builtin:xor", "--epochs", "1", "--output", "models/real.st", "--quiet"], in: dir)
        #expect(symlink("models/real.st", dir + "/link.st") == 0)
        #expect(chmod(dir + "/models/real.st", 0o600) == 0)
        let result = try #require(run(["train", "--data", "builtin:xor", "--epochs", "2", "--output", "link.st", "--quiet"], in: dir))
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(fileType(dir + "/link.st") == S_IFLNK)
        let saved = try SavedModel<Float>.read(from: dir + "/models/real.st")
        #expect(saved.info.training?.history.count == 2)
        var info = stat()
        #expect(stat(dir + "/models/real.st", &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(symlink("models/missing.st", dir + "/dangling.st") == 0)
        let dangling = try #require(run(["train", "--epochs", "1", "--output", "dangling.st"], in: dir))
        #expect(dangling.status == 1 && dangling.errorOutput.contains("symbolic link to a file that does not exist"), "\(dangling.errorOutput)")
    }

    /// A save removes the temporary files that saves of killed processes left next to the same target.
    @Test func staleTemporariesAreRemoved() throws {
        let dir = CommandRunner.temporaryDirectory("stale")
        let finished = CommandRunner.start(["/bin/true"], in: dir)
        _ = finished.wait()
        let dead = dir + "/m.st.tmp-\(finished.pid)", alive = dir + "/m.st.tmp-\(getpid())"
        CommandRunner.writeText("half a model", to: dead)
        CommandRunner.writeText("a save in progress", to: alive)
        let result = try #require(run(["train", "--data", "builtin:xor", "--epochs", "1", "--output", "m.st", "--quiet"], in: dir))
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(access(dead, F_OK) != 0)
        #expect(access(alive, F_OK) == 0)
    }

    /// SIGTERM during training stops after the batch, writes the checkpoint and exits with 143; before training has
    /// started it ends the process at once, writing nothing.
    @Test func sigtermExitsWith143() throws {
        let dir = CommandRunner.temporaryDirectory("sigterm")
        let process = CommandRunner.start([tool, "train", "--data", "builtin:spirals", "--layers", "256,256", "--epochs", "100000",
                                           "--checkpoint", "c.st"], in: dir)
        for _ in 0..<3000 where !process.outputSoFar.contains("epoch") { usleep(10_000) }
        kill(process.pid, SIGTERM)
        let stopped = try #require(process.wait(timeout: 60))
        #expect(stopped.status == 143, "\(stopped.errorOutput)")
        #expect(stopped.errorOutput.contains("interrupted: wrote c.st"))
        #expect(access(dir + "/c.st", F_OK) == 0)

        // Reading a large CSV takes a while before the first step: the signal does not wait for it.
        var lines = ["a,b,c,label"]
        for i in 0..<400_000 { lines.append("\(i % 97),\(i % 89),\(i % 83),\(i % 2)") }
        CommandRunner.writeText(lines.joined(separator: "\n"), to: dir + "/big.csv")
        let early = CommandRunner.start([tool, "train", "--data", "big.csv", "--checkpoint", "early.st"], in: dir)
        usleep(100_000)
        kill(early.pid, SIGTERM)
        let ended = try #require(early.wait(timeout: 5), "the first SIGTERM before training did not end the process")
        #expect(ended.status == 143 && !ended.output.contains("epoch"), "\(ended.output)")
        #expect(access(dir + "/early.st", F_OK) != 0)
    }

    /// A model or checkpoint is never replaced by something else without --force: metrics, a chart, predictions,
    /// gradients, or a checkpoint in place of a trained model.
    @Test func modelsAreNotOverwrittenByOtherOutputs() throws {
        let dir = CommandRunner.temporaryDirectory("overwrite")
        _ = run(["train", "--data", "builtin:xor", "--epochs", "1", "--output", "m.st", "--quiet"], in: dir)
        let original = try #require(CommandRunner.readBytes(dir + "/m.st"))
        let cases: [([String], String)] = [
            (["train", "--epochs", "1", "--metrics", "m.st"], "m.st is a Backprop model, and --metrics would replace it with a CSV of metrics"),
            (["train", "--epochs", "1", "--plot", "m.st"], "--plot would replace it with an SVG chart"),
            (["train", "--epochs", "1", "--checkpoint", "m.st"], "m.st is a trained model, not a checkpoint"),
            (["predict", "--model", "m.st", "--data", "builtin:xor", "--output", "m.st"], "--output would replace it with predictions"),
            (["gradients", "--model", "m.st", "--data", "builtin:xor", "--output", "m.st"], "--output would replace it with gradients"),
        ]
        for (arguments, message) in cases {
            let result = try #require(run(arguments, in: dir))
            #expect(result.status == 1 && result.errorOutput.contains(message), "\(arguments): \(result.errorOutput)")
            #expect(!result.output.contains("epoch"))
        }
        #expect(CommandRunner.readBytes(dir + "/m.st") == original)
        let forced = try #require(run(["gradients", "--model", "m.st", "--data", "builtin:xor", "--output", "m.st", "--force"], in: dir))
        #expect(forced.status == 0, "\(forced.errorOutput)")
        #expect(SavedModel<Float>.kind(ofFileAt: dir + "/m.st") == .other)
    }
}
