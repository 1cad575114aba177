import BackpropCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file read tensor by tensor: the 8-byte header length is checked against the file's size before
/// anything else is read, the header is parsed and checked as ``Safetensors/decode(_:file:)`` does, and each tensor
/// is read from the file straight into its storage when asked for. Reading a model so takes about its tensors'
/// size in memory, not the file's size several times over.
public final class SafetensorsReader {
    /// The file, as named in errors.
    public let file: String
    /// Every tensor's type, shape and place.
    public let slots: [String: Safetensors.Slot]
    /// The string metadata.
    public let metadata: [String: String]
    private let descriptor: Int32
    private let dataStart: Int

    /// Opens a regular file and reads and checks its header.
    ///
    /// - Throws: ``DataError`` when the file cannot be read; ``ModelFileError`` when its header is invalid.
    public init(path: String) throws {
        file = path
        descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw DataError.unreadable(path, reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw DataError.unreadable(path, reason: "not a regular file (\(fileKind(info.st_mode)))")
        }
        let size = Int(info.st_size)
        do {
            guard size >= 8 else { throw ModelFileError.corrupt(path, "\(size) bytes is too short for a safetensors header (8 bytes)") }
            var length = [UInt8](repeating: 0, count: 8)
            try Self.read(descriptor, into: &length, at: 0, file: path)
            let declared = length.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            guard declared <= UInt64(size - 8) else {
                throw ModelFileError.corrupt(path, "header claims \(declared) bytes, the file has only \(size - 8) after the length")
            }
            guard declared <= UInt64(Safetensors.headerLimit) else {
                throw ModelFileError.corrupt(path, "header of \(declared) bytes exceeds the limit of \(Safetensors.headerLimit)")
            }
            var header = [UInt8](repeating: 0, count: Int(declared))
            try Self.read(descriptor, into: &header, at: 8, file: path)
            dataStart = 8 + header.count
            (slots, metadata) = try Safetensors.parseHeader(header[...], dataSize: size - dataStart, file: path)
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit { close(descriptor) }

    /// The tensor named `name`, converted to `Scalar` if it is stored as the other type.
    ///
    /// - Precondition: `name` is one of ``slots``.
    public func tensor<Scalar: TensorScalar>(_ name: String, as _: Scalar.Type = Scalar.self) throws -> Tensor<Scalar> {
        let slot = slots[name]!
        var tensor = Tensor<Scalar>(shape: slot.shape, repeating: 0)
        let count = tensor.count
        let offset = dataStart + slot.range.lowerBound
        if slot.dtype == Scalar.dtype {
            try tensor.withUnsafeMutablePointer { pointer in
                try Self.read(descriptor, into: UnsafeMutableRawBufferPointer(start: pointer, count: slot.range.count), at: offset, file: file)
            }
            return tensor
        }
        // The other type: through a buffer of at most 64 Ki elements.
        let width = slot.dtype.byteCount
        var buffer = [UInt8](repeating: 0, count: Swift.min(count, 1 << 16) * width)
        try tensor.withUnsafeMutablePointer { target in
            var done = 0
            while done < count {
                let n = Swift.min(count - done, buffer.count / width)
                try buffer.withUnsafeMutableBytes { raw in
                    try Self.read(descriptor, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<(n * width)]), at: offset + done * width, file: file)
                    for i in 0..<n {
                        target[done + i] = slot.dtype == .float32
                            ? Scalar(raw.loadUnaligned(fromByteOffset: i * 4, as: Float.self))
                            : Scalar(raw.loadUnaligned(fromByteOffset: i * 8, as: Double.self))
                    }
                }
                done += n
            }
        }
        return tensor
    }

    private static func read(_ descriptor: Int32, into bytes: inout [UInt8], at offset: Int, file: String) throws {
        try bytes.withUnsafeMutableBytes { try read(descriptor, into: $0, at: offset, file: file) }
    }

    private static func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, file: String) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw DataError.unreadable(file, reason: n == 0 ? "the file shrank while it was read" : String(cString: strerror(errno)))
            }
            done += n
        }
    }
}
