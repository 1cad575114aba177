import ArgumentParser
import BackpropData

/// What an output option writes, for the check that it does not replace a model file by mistake.
enum OutputKind {
    /// A model file: may replace a model or a checkpoint; anything else only with `--force`.
    case model
    /// A checkpoint: may replace a checkpoint; anything else only with `--force`.
    case checkpoint
    /// Another file (metrics, a chart, predictions, gradients, a graph): may replace anything but a model or a
    /// checkpoint, which only `--force` replaces.
    case other(String)
}

/// Checks an output path before any work is done: it can be written (``AtomicFile/checkWritable(_:for:)``), and
/// it does not hold a file this output must not replace without `--force`.
func checkOutput(_ path: String, for flag: String, writes kind: OutputKind, force: Bool) throws {
    try AtomicFile.checkWritable(path, for: flag)
    guard !force, access(path, F_OK) == 0 else { return }
    var info = stat()
    guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return }  // devices are written, not replaced
    let existing = SavedModel<Float>.kind(ofFileAt: path)
    switch (kind, existing) {
    case (.model, .model), (.model, .checkpoint), (.checkpoint, .checkpoint), (.other, .other):
        return
    case (.model, .other):
        throw DataError.mismatch("\(path) exists and is not a Backprop model; choose another \(flag) or pass --force to overwrite it")
    case (.checkpoint, .model):
        throw DataError.mismatch("\(path) is a trained model, not a checkpoint; choose another \(flag) or pass --force to overwrite it")
    case (.checkpoint, .other):
        throw DataError.mismatch("\(path) exists and is not a Backprop checkpoint; choose another \(flag) or pass --force to overwrite it")
    case (.other(let what), _):
        throw DataError.mismatch("\(path) is a Backprop \(existing == .checkpoint ? "checkpoint" : "model"), and \(flag) would replace it "
            + "with \(what); choose another path or pass --force")
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
