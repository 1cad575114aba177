import CZlib

/// Decompresses gzip data with zlib, refusing output larger than a limit.
public enum Gzip {
    /// Whether `bytes` start with the gzip magic number.
    public static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// The decompressed bytes of a gzip stream (concatenated members included).
    ///
    /// - Throws: ``DataError/corrupt(_:reason:)`` for a damaged or truncated stream, and
    ///   ``DataError/tooLarge(_:bytes:limit:)`` when the output would exceed `limit` bytes.
    public static func decompress(_ input: [UInt8], file: String, limit: Int) throws -> [UInt8] {
        var stream = z_stream()
        // 15 + 32: a 32 KiB window, and accept gzip or zlib headers.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.corrupt(file, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(Swift.min(limit, input.count * 4))
        let chunkSize = 1 << 16
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        try input.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = UInt32(source.count)
            while true {
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = UInt32(chunkSize)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunkSize - Int(stream.avail_out)
                guard output.count + produced <= limit else {
                    throw DataError.tooLarge(file, bytes: output.count + produced, limit: limit)
                }
                output.append(contentsOf: chunk[0..<produced])
                switch status {
                case Z_STREAM_END:
                    // Another gzip member may follow.
                    if stream.avail_in > 0 && inflateReset(&stream) == Z_OK { continue }
                    return
                case Z_OK:
                    if stream.avail_in == 0 && produced == 0 {
                        throw DataError.corrupt(file, reason: "gzip stream is truncated")
                    }
                case Z_BUF_ERROR:
                    if stream.avail_in == 0 { throw DataError.corrupt(file, reason: "gzip stream is truncated") }
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw DataError.corrupt(file, reason: "gzip: \(message)")
                }
            }
        }
        return output
    }
}
