import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TensorBoard event file: TFRecord-framed `tensorflow.Event` protocol buffers, appended one record at a time.
///
/// Each record is `length (u64) · masked CRC-32C of length (u32) · event bytes · masked CRC-32C of them (u32)`, the
/// framing TensorFlow's `RecordWriter` uses; the first event names the file version (`brain.Event:2`). Fields
/// written (from `tensorflow/core/util/event.proto` and `summary.proto`): `Event.wall_time` 1, `step` 2,
/// `file_version` 3, `summary` 5; `Summary.value` 1; `Value.tag` 1, `simple_value` 2, `histo` 5; `HistogramProto`
/// `min` 1, `max` 2, `num` 3, `sum` 4, `sum_squares` 5, `bucket_limit` 6, `bucket` 7.
final class TensorBoardEventFile {
    /// A value of a summary: a scalar or a histogram.
    enum Value {
        case scalar(Float)
        case histogram(Histogram)
    }

    /// A histogram in TensorBoard's form: bucket `i` counts the values in (limit[i−1], limit[i]].
    struct Histogram: Equatable {
        var minimum = 0.0, maximum = 0.0, count = 0.0, sum = 0.0, sumOfSquares = 0.0
        var bucketLimits: [Double] = []
        var bucketCounts: [Double] = []

        /// The histogram of `values` in `buckets` buckets of equal width between their smallest and largest value.
        init(_ values: some Collection<Double>, buckets: Int = 30) {
            guard let low = values.min(), let high = values.max() else { return }
            minimum = low
            maximum = high
            count = Double(values.count)
            for value in values {
                sum += value
                sumOfSquares += value * value
            }
            guard high > low else {
                bucketLimits = [high]
                bucketCounts = [count]
                return
            }
            let width = (high - low) / Double(buckets)
            bucketLimits = (1...buckets).map { $0 == buckets ? high : low + width * Double($0) }
            bucketCounts = [Double](repeating: 0, count: buckets)
            for value in values {
                bucketCounts[Swift.min(Swift.max(Int(((value - low) / width).rounded(.up)) - 1, 0), buckets - 1)] += 1
            }
        }
    }

    let path: String
    private let descriptor: Int32

    /// Creates `directory` (and its parents) if needed and a new event file in it, named as TensorBoard finds them
    /// (`events.out.tfevents.<seconds>.<host>.<process>.backprop`).
    init(directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DataError.unwritable(directory, reason: "cannot create the directory (\((error as NSError).localizedDescription))")
        }
        var host = [CChar](repeating: 0, count: 256)
        if gethostname(&host, host.count - 1) != 0 { host = Array("localhost".utf8CString) }
        let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let name = "events.out.tfevents.\(time(nil)).\(hostName).\(getpid()).backprop"
        path = directory + "/" + name
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw DataError.unwritable(path, reason: String(cString: strerror(errno))) }
        var header = Protobuf.Writer()
        header.double(1, Self.wallTime())
        header.string(3, "brain.Event:2")
        try append([header.bytes])
    }

    deinit { close(descriptor) }

    /// Appends one event per step, each with the given values, in one write.
    func write(step: Int, values: [(tag: String, value: Value)]) throws {
        var event = Protobuf.Writer()
        event.double(1, Self.wallTime())
        event.integer(2, step)
        event.message(5) { summary in
            for (tag, value) in values {
                summary.message(1) { entry in
                    entry.string(1, tag)
                    switch value {
                    case .scalar(let x): entry.float(2, x)
                    case .histogram(let h):
                        entry.message(5) { histogram in
                            histogram.double(1, h.minimum)
                            histogram.double(2, h.maximum)
                            histogram.double(3, h.count)
                            histogram.double(4, h.sum)
                            histogram.double(5, h.sumOfSquares)
                            histogram.packedDoubles(6, h.bucketLimits)
                            histogram.packedDoubles(7, h.bucketCounts)
                        }
                    }
                }
            }
        }
        try append([event.bytes])
    }

    /// Frames `events` as records and writes them with one call, so that a reader never sees part of an epoch.
    private func append(_ events: [[UInt8]]) throws {
        var bytes: [UInt8] = []
        for event in events {
            let length = UInt64(event.count)
            let header = withUnsafeBytes(of: length.littleEndian) { Array($0) }
            bytes += header
            withUnsafeBytes(of: CRC32C.masked(header).littleEndian) { bytes += $0 }
            bytes += event
            withUnsafeBytes(of: CRC32C.masked(event).littleEndian) { bytes += $0 }
        }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw DataError.unwritable(path, reason: String(cString: strerror(errno))) }
            offset += written
        }
    }

    private static func wallTime() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }
}

private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord frames use it, with TensorFlow's mask.
enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { byte in
        var crc = UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The checksum of `bytes`.
    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }

    /// The checksum rotated right by 15 bits plus 0xA282EAD8: what TFRecord stores.
    static func masked(_ bytes: some Sequence<UInt8>) -> UInt32 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
