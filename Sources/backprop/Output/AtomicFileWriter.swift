import BackpropData

/// Writes text through ``AtomicFile`` (temporary file, fsync, rename).
enum AtomicFileWriter {
    static func write(_ text: String, to path: String) throws {
        try AtomicFile.write(Array(text.utf8), to: path)
    }
}
