#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a crash never leaves a half-written one: a temporary file next to the target, flushed to
/// disk, then renamed over it.
///
/// What the path names is respected: a symbolic link is written through (the file it points to is replaced, the
/// link stays), a character device such as `/dev/null` and the process's own streams (`/dev/stdout`, `/dev/stderr`,
/// `/dev/fd/N`, whatever they are connected to) are written to directly (renaming over them would replace the device
/// or the terminal's file), an existing file keeps its permissions, and a FIFO, a socket or a directory is refused.
/// Temporary files that killed processes left next to the target are removed.
public enum AtomicFile {
    /// Replaces (or creates) `path` with `bytes`, atomically.
    ///
    /// - Throws: ``DataError/unwritable(_:reason:)`` naming the path and the system's reason.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        if isOwnStream(path) { return try writeDirectly(bytes, to: path) }
        var info = stat()
        if stat(path, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                try replace(resolved(path), with: bytes, mode: info.st_mode & 0o7777)
            case S_IFCHR:
                try writeDirectly(bytes, to: path)
            default:
                throw DataError.unwritable(path, reason: "it is \(fileKind(info.st_mode)), not a file to replace")
            }
        } else if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK {
            throw DataError.unwritable(path, reason: "it is a symbolic link to a file that does not exist")
        } else {
            try replace(path, with: bytes, mode: nil)
        }
    }

    /// Checks, before any work is done, that ``write(_:to:)`` could write `path`: it is not a directory, a FIFO or a
    /// socket, and a new file's directory exists and is writable.
    ///
    /// - Throws: ``DataError/unwritable(_:reason:)`` saying which of these fails, with `flag` (the option that named
    ///   the path) in the message.
    public static func checkWritable(_ path: String, for flag: String) throws {
        if isOwnStream(path) { return }
        var info = stat()
        if stat(path, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFDIR: throw DataError.unwritable(path, reason: "it is a directory (\(flag) needs a file name)")
            case S_IFREG, S_IFCHR: break
            default: throw DataError.unwritable(path, reason: "it is \(fileKind(info.st_mode)) (\(flag) needs a file name)")
            }
            if (info.st_mode & S_IFMT) == S_IFCHR { return }
        }
        let target = (try? resolved(path)) ?? path
        let directory = directoryName(target)
        guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw DataError.unwritable(path, reason: "the directory \(directory) does not exist (\(flag))")
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw DataError.unwritable(path, reason: "the directory \(directory) is not writable (\(flag))")
        }
    }

    /// The temporary file, flushed, renamed over `path`; `mode` (the replaced file's permissions) is kept.
    private static func replace(_ path: String, with bytes: [UInt8], mode: mode_t?) throws {
        removeStaleTemporaries(of: path)
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode ?? 0o644)
        guard descriptor >= 0 else { throw failure(path) }
        if let mode { _ = fchmod(descriptor, mode) }  // the umask does not narrow a kept mode
        let written = writeAll(bytes, to: descriptor)
        let error = failure(path)
        if !written || fsync(descriptor) != 0 {
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
        let directoryDescriptor = open(directoryName(path), O_RDONLY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Whether `path` names one of the process's own descriptors, written to as it is.
    private static func isOwnStream(_ path: String) -> Bool {
        path == "/dev/stdout" || path == "/dev/stderr" || path.hasPrefix("/dev/fd/") || path.hasPrefix("/proc/self/fd/")
    }

    /// Writes to a device as it is (nothing to replace, nothing half-written to leave behind).
    private static func writeDirectly(_ bytes: [UInt8], to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(path) }
        defer { close(descriptor) }
        guard writeAll(bytes, to: descriptor) else { throw failure(path) }
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = writeDescriptor(descriptor, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                done += n
            }
            return true
        }
    }

    /// Removes `path.tmp-PID` files whose process no longer runs: what a save killed midway leaves.
    private static func removeStaleTemporaries(of path: String) {
        let directory = directoryName(path)
        let prefix = String(path[(path.lastIndex(of: "/").map(path.index(after:)) ?? path.startIndex)...]) + ".tmp-"
        guard let stream = opendir(directory) else { return }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix(prefix), let pid = pid_t(name.dropFirst(prefix.count)), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory + "/" + name) }
        }
    }

    /// The path with every symbolic link resolved, so that the temporary file is made next to the real file.
    private static func resolved(_ path: String) throws -> String {
        guard let real = realpath(path, nil) else { throw failure(path) }
        defer { free(real) }
        return String(cString: real)
    }

    private static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func failure(_ path: String) -> DataError {
        DataError.unwritable(path, reason: String(cString: strerror(errno)))
    }
}

private func writeDescriptor(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
