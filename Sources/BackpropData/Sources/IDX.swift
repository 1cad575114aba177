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
