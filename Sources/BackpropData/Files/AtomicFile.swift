#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a crash never leaves a half-written one: a temporary file in the same directory, flushed
/// to disk, then renamed over the target.
public enum AtomicFile {
    /// Replaces (or creates) `path` with `bytes`, atomically.
    ///
    /// - Throws: ``DataError/unreadable(_:reason:)`` naming the path and the system's reason.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw failure(path) }
        var ok = true
        bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = writeDescriptor(descriptor, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { ok = false; return }
                done += n
            }
        }
        let error = failure(path)
        if !ok || fsync(descriptor) != 0 {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let error = failure(path)
            unlink(temporary)
            throw error
        }
        // Make the rename itself durable: flush the directory entry (best effort; not every file system allows it).
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let directoryDescriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Checks, before any work is done, that ``write(_:to:)`` could create `path`: it is not a directory, and its
    /// directory exists and is writable.
    ///
    /// - Throws: ``DataError/unwritable(_:reason:)`` saying which of these fails, with `flag` (the option that named
    ///   the path) in the message.
    public static func checkWritable(_ path: String, for flag: String) throws {
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            throw DataError.unwritable(path, reason: "it is a directory (\(flag) needs a file name)")
        }
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw DataError.unwritable(path, reason: "the directory \(directory) does not exist (\(flag))")
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw DataError.unwritable(path, reason: "the directory \(directory) is not writable (\(flag))")
        }
    }

    private static func failure(_ path: String) -> DataError {
        DataError.unreadable(path, reason: String(cString: strerror(errno)))
    }
}

private func writeDescriptor(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
