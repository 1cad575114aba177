#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One array read from an IDX file (the MNIST family's format): unsigned bytes with their dimensions.
///
/// Layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, each dimension as a
/// big-endian 32-bit integer, then the data. Files may be gzipped.
public struct IDXArray: Sendable, Equatable {
    /// The dimensions, e.g. `[60000, 28, 28]`.
    public var shape: [Int]
    /// The elements in row-major order.
    public var bytes: [UInt8]

    /// The largest decompressed file accepted (1 GiB), so a hostile file cannot exhaust memory.
    public static let sizeLimit = 1 << 30

    /// Reads and validates an IDX file, gzipped or raw.
    ///
    /// - Throws: ``DataError`` naming the file and the byte offset of the problem.
    public init(contentsOf path: String) throws {
        var data = try FileBytes.read(path, limit: IDXArray.sizeLimit)
        if Gzip.isCompressed(data) {
            data = try Gzip.decompress(data, file: path, limit: IDXArray.sizeLimit)
        }
        try self.init(bytes: data, file: path)
    }

    /// Parses IDX bytes; `file` names the source in errors.
    public init(bytes data: [UInt8], file: String) throws {
        guard data.count >= 4 else {
            throw DataError.corrupt(file, reason: "\(data.count) bytes is too short for an IDX header (4 bytes)")
        }
        guard data[0] == 0, data[1] == 0 else {
            throw DataError.corrupt(file, reason: "not an IDX file: bytes 0–1 are \(data[0]), \(data[1]), expected 0, 0")
        }
        guard data[2] == 0x08 else {
            throw DataError.corrupt(file, reason: "byte 2: element type 0x\(String(data[2], radix: 16)) is not supported (only unsigned bytes, 0x08)")
        }
        let rank = Int(data[3])
        guard rank >= 1 else { throw DataError.corrupt(file, reason: "byte 3: zero dimensions") }
        let headerSize = 4 + 4 * rank
        guard data.count >= headerSize else {
            throw DataError.corrupt(file, reason: "header of \(rank) dimensions needs \(headerSize) bytes, the file has \(data.count)")
        }
        var shape: [Int] = []
        var elements = 1
        for axis in 0..<rank {
            let offset = 4 + 4 * axis
            let size = data[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow, product <= data.count - headerSize else {
                throw DataError.corrupt(file, reason: "byte \(offset): dimensions \(shape + [size]) need more data than the \(data.count - headerSize) bytes present")
            }
            elements = product
            shape.append(size)
        }
        guard data.count - headerSize == elements else {
            throw DataError.corrupt(file, reason: "dimensions \(shape) need \(elements) bytes of data, the file has \(data.count - headerSize)")
        }
        self.shape = shape
        bytes = Array(data[headerSize...])
    }
}

/// Reads whole files with POSIX calls, checking the size first.
/// Whole files read into memory, regular files only.
enum FileBytes {
    /// Reads a regular file of at most `limit` bytes. It is opened without blocking, so that a FIFO or a device
    /// named as input is refused at once instead of waiting for a writer.
    static func read(_ path: String, limit: Int) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw DataError.unreadable(path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw DataError.unreadable(path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw DataError.unreadable(path, reason: "not a regular file (\(fileKind(info.st_mode)))")
        }
        let size = Int(info.st_size)
        guard size <= limit else { throw DataError.tooLarge(path, bytes: size, limit: limit) }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < size {
                let n = readDescriptor(descriptor, buffer.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw DataError.unreadable(path, reason: n == 0 ? "file shrank while reading" : String(cString: strerror(errno))) }
                done += n
            }
        }
        return bytes
    }
}

private func readDescriptor(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// What kind of file a mode describes, for messages.
func fileKind(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFDIR: "a directory"
    case S_IFIFO: "a FIFO"
    case S_IFCHR: "a character device"
    case S_IFBLK: "a block device"
    case S_IFSOCK: "a socket"
    case S_IFLNK: "a symbolic link"
    default: "a regular file"
    }
}
