import BackpropData
import BackpropTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sizes claimed by headers, architectures and flags are checked against ``Limits`` and against what the input
/// really holds before anything of that size is allocated. Each run has its address space capped (`ulimit -v`),
/// so an allocation that was attempted instead of refused would fail the run with a crash, not an error line.
@Suite("Limits", .serialized)
struct LimitsTests {
    let tool = CommandRunner.backprop

    /// Runs the tool with at most 2 GiB of address space.
    func run(_ arguments: [String], in directory: String) -> CommandResult {
        CommandRunner.run(["/bin/sh", "-c", "ulimit -v 2097152 && exec \"$0\" \"$@\"", tool] + arguments, in: directory)
    }

    func expectRefused(_ arguments: [String], in directory: String, status: Int32 = 1, mentioning message: String) {
        let result = run(arguments, in: directory)
        #expect(result.status == status && result.errorOutput.contains(message), "\(arguments): status \(result.status): \(result.errorOutput.prefix(500))")
    }

    func idxHeader(_ dims: [UInt32]) -> [UInt8] {
        [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in [24, 16, 8, 0].map { UInt8((d >> $0) & 0xFF) } }
    }

    /// A 679-byte-class model file whose architecture claims layers of 32768² weights, and one of 5000 layers.
    @Test func modelFilesClaimingHugeArchitecturesAreRefusedBeforeAllocating() throws {
        let dir = CommandRunner.temporaryDirectory("limits-model")
        _ = run(["train", "--data", "builtin:xor", "--layers", "2", "--epochs", "1", "--output", "small.st", "--quiet"], in: dir)
        let small = try SavedModel<Float>.read(from: dir + "/small.st")
        let tensors = zip(small.model.parameterNames, small.model.parameters).map { (name: $0, entry: Safetensors.Entry($1)) }
        var metadata = try Safetensors.decode(try small.encoded(), file: "small").metadata
        let huge = (0..<8).map { _ in #"{"type":"dense","inputs":32768,"outputs":32768}"# }.joined(separator: ",")
        metadata["architecture"] = #"{"layers":["# + huge + "]}"
        CommandRunner.writeBytes(try Safetensors.encode(tensors, metadata: metadata), to: dir + "/huge.st")
        expectRefused(["inspect", "--model", "huge.st"], in: dir, mentioning: "more than 268435456 parameters")
        metadata["architecture"] = #"{"layers":[{"type":"dense","inputs":2,"outputs":32768},{"type":"activation","function":"relu"},"#
            + #"{"type":"dense","inputs":32768,"outputs":2}]}"#
        CommandRunner.writeBytes(try Safetensors.encode(tensors, metadata: metadata), to: dir + "/wide.st")
        expectRefused(["inspect", "--model", "wide.st"], in: dir, mentioning: "weight '0.weight' has shape [2, 2], the architecture needs [32768, 2]")
        let deep = (0..<5000).map { _ in #"{"type":"activation","function":"relu"}"# }.joined(separator: ",")
        metadata["architecture"] = #"{"layers":["# + deep + "]}"
        CommandRunner.writeBytes(try Safetensors.encode(tensors, metadata: metadata), to: dir + "/deep.st")
        expectRefused(["inspect", "--model", "deep.st"], in: dir, mentioning: "5000 layers, more than the limit of 4096")
    }

    /// A 4 GiB model file (sparse) whose first 8 bytes are invalid is refused from them, without reading the rest:
    /// the run's address space (2 GiB) could not hold the file.
    @Test func modelHeadersAreCheckedFromTheFirstBytes() throws {
        let dir = CommandRunner.temporaryDirectory("limits-header")
        let path = dir + "/sparse.st"
        CommandRunner.writeBytes([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00], to: path)
        #expect(truncate(path, 4 << 30) == 0)
        expectRefused(["inspect", "--model", "sparse.st"], in: dir, mentioning: "header claims 72057594037927935 bytes")
        expectRefused(["train", "--resume", "sparse.st"], in: dir, mentioning: "sparse.st")
    }

    /// IDX headers: no images of 65536×65536 pixels, dimensions whose product overflows, more images than the limit.
    @Test func idxHeadersAreCheckedAgainstTheLimits() {
        let dir = CommandRunner.temporaryDirectory("limits-idx")
        func images(_ name: String, _ dims: [UInt32], data: [UInt8] = []) {
            mkdir(dir + "/" + name, 0o755)
            CommandRunner.writeBytes(idxHeader(dims) + data, to: dir + "/\(name)/train-images-idx3-ubyte")
            CommandRunner.writeBytes(idxHeader([dims[0]]) + [UInt8](repeating: 0, count: Int(dims[0])), to: dir + "/\(name)/train-labels-idx1-ubyte")
        }
        images("empty", [0, 65536, 65536])
        expectRefused(["train", "--data", "empty"], in: dir, mentioning: "the file holds no images")
        images("overflow", [1, UInt32.max, UInt32.max, UInt32.max])
        expectRefused(["train", "--data", "overflow"], in: dir, mentioning: "need more data than the 0 bytes present")
        images("wide", [1, 1025, 1024], data: [UInt8](repeating: 7, count: 1025 * 1024))
        expectRefused(["train", "--data", "wide"], in: dir, mentioning: "have more than 1048576 pixels")
        // 2²⁷ images of one pixel: 128 MiB of zeros, gzipped to 128 KiB.
        mkdir(dir + "/many", 0o755)
        let header = idxHeader([1 << 27, 1, 1]).map { String(format: "\\%03o", $0) }.joined()
        let made = CommandRunner.run(["/bin/sh", "-c", "(printf '\(header)'; head -c 134217728 /dev/zero) | gzip -1 > many/train-images-idx3-ubyte.gz"], in: dir)
        #expect(made.status == 0, "\(made.errorOutput)")
        CommandRunner.writeBytes(idxHeader([1]) + [0], to: dir + "/many/train-labels-idx1-ubyte")
        expectRefused(["train", "--data", "many"], in: dir, mentioning: "134217728 images, more than the limit of 67108864")
    }

    /// CSV rows of more fields than the limit, flags asking for networks beyond it; an oversized batch is the
    /// whole data.
    @Test func csvWidthAndFlagsAreChecked() {
        let dir = CommandRunner.temporaryDirectory("limits-flags")
        CommandRunner.writeText((0..<70_000).map { "c\($0)" }.joined(separator: ",") + "\n", to: dir + "/wide.csv")
        expectRefused(["train", "--data", "wide.csv"], in: dir, mentioning: "line 1 has more than 65536 fields")
        // 20 000 distinct labels in 240 KB: refused before a network (or a confusion matrix) of that many classes.
        CommandRunner.writeText("x,label\n" + (0..<20_000).map { "\($0 % 7),name\($0)" }.joined(separator: "\n"), to: dir + "/labels.csv")
        expectRefused(["train", "--data", "labels.csv"], in: dir, mentioning: "holds 20000 distinct labels, more than the 1000 classes")
        expectRefused(["train", "--layers", "1000000,1000000"], in: dir, status: 2, mentioning: "more than 268435456 parameters, the limit")
        expectRefused(["train", "--layers", (0..<3000).map { _ in "2" }.joined(separator: ",")], in: dir, status: 2,
                      mentioning: "3000 hidden layers; at most 2047")
        let whole = run(["train", "--batch-size", "\(Int.max)", "--epochs", "1"], in: dir)
        #expect(whole.status == 0 && whole.output.contains("batch 600,"), "\(whole.errorOutput)")
    }

    /// A network of 1500 layers trains and is released (its graph is torn down without recursion).
    @Test func deepNetworksDoNotOverflowTheStack() {
        let dir = CommandRunner.temporaryDirectory("limits-deep")
        let layers = (0..<1500).map { _ in "2" }.joined(separator: ",")
        let result = run(["train", "--data", "builtin:sine", "--layers", layers, "--epochs", "1", "--batch-size", "600",
                          "--output", "deep.st", "--quiet"], in: dir)
        #expect(result.status == 0, "\(result.errorOutput.prefix(500))")
        let explain = run(["explain", "--model", "deep.st", "--data", "builtin:sine", "--row", "0", "--format", "json"], in: dir)
        #expect(explain.status == 0, "\(explain.errorOutput.prefix(500))")
    }
}
