import BackpropCore
import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header, then raw little-endian tensor data.
///
/// The header maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to
/// the data section) and may hold a `"__metadata__"` object of string values. Python's `safetensors` library and
/// numpy read these files directly.
public enum Safetensors {
    /// The largest JSON header accepted (16 MiB): real headers are kilobytes, and the size is checked before
    /// anything is allocated.
    public static let headerLimit = 16 << 20

    /// One stored tensor: its element type, shape and little-endian bytes.
    public struct Entry: Sendable, Equatable {
        /// `F32` or `F64`.
        public var dtype: DType
        /// The dimensions.
        public var shape: [Int]
        /// The raw little-endian elements.
        public var bytes: [UInt8]

        /// Stores a tensor's elements.
        public init<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>) {
            dtype = Scalar.dtype
            shape = tensor.shape
            bytes = tensor.withUnsafePointer { pointer in
                Array(UnsafeRawBufferPointer(start: pointer, count: tensor.count * MemoryLayout<Scalar>.stride))
            }
        }

        init(dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// The elements as a tensor of `Scalar`, converting from the stored type if it differs.
        public func tensor<Scalar: TensorScalar>(as _: Scalar.Type = Scalar.self) -> Tensor<Scalar> {
            let count = shape.reduce(1, *)
            return bytes.withUnsafeBytes { raw in
                switch dtype {
                case .float32:
                    Tensor<Float>(shape: shape, elements: (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }).converted(to: Scalar.self)
                case .float64:
                    Tensor<Double>(shape: shape, elements: (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }).converted(to: Scalar.self)
                }
            }
        }
    }

    /// Serialises tensors (written in the given order) and string metadata.
    public static func encode(_ tensors: [(name: String, entry: Entry)], metadata: [String: String]) throws -> [UInt8] {
        var header: [String: Any] = [:]
        var offset = 0
        for (name, entry) in tensors {
            header[name] = ["dtype": entry.dtype.rawValue, "shape": entry.shape, "data_offsets": [offset, offset + entry.bytes.count]]
            offset += entry.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so that the data section starts 8-byte aligned, as the reference implementation does.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: json)
        for (_, entry) in tensors { bytes.append(contentsOf: entry.bytes) }
        return bytes
    }

    /// Parses and validates a safetensors file's bytes; `file` names the source in errors.
    ///
    /// - Throws: ``ModelFileError`` for a header size beyond the file, malformed JSON, unknown dtypes, shapes that
    ///   disagree with their byte ranges, overlapping or out-of-range offsets, or bytes not covered by any tensor.
    public static func decode(_ data: [UInt8], file: String) throws -> (tensors: [String: Entry], metadata: [String: String]) {
        guard data.count >= 8 else {
            throw ModelFileError.corrupt(file, "\(data.count) bytes is too short for a safetensors header (8 bytes)")
        }
        let declared = data[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard declared <= UInt64(data.count - 8) else {
            throw ModelFileError.corrupt(file, "header claims \(declared) bytes, the file has only \(data.count - 8) after the length")
        }
        guard declared <= UInt64(headerLimit) else {
            throw ModelFileError.corrupt(file, "header of \(declared) bytes exceeds the limit of \(headerLimit)")
        }
        let headerEnd = 8 + Int(declared)
        let header = try parseHeader(data[8..<headerEnd], dataSize: data.count - headerEnd, file: file)
        var tensors: [String: Entry] = [:]
        for (name, slot) in header.slots {
            tensors[name] = Entry(dtype: slot.dtype, shape: slot.shape,
                                  bytes: Array(data[(headerEnd + slot.range.lowerBound)..<(headerEnd + slot.range.upperBound)]))
        }
        return (tensors, header.metadata)
    }

    /// Where one tensor lies in a file: its type, its shape and its bytes within the data section.
    public struct Slot: Sendable, Equatable {
        /// `F32` or `F64`.
        public var dtype: DType
        /// The dimensions.
        public var shape: [Int]
        /// Its bytes, relative to the start of the data section.
        public var range: Range<Int>
    }

    /// Parses and checks a header (the JSON after the 8-byte length) for a data section of `dataSize` bytes: every
    /// tensor's type and shape fit its byte range, and the ranges cover the data section exactly, without overlap.
    static func parseHeader(_ json: ArraySlice<UInt8>, dataSize: Int, file: String) throws
        -> (slots: [String: Slot], metadata: [String: String]) {
        let headerEnd = 8 + json.count
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json))
        } catch {
            throw ModelFileError.corrupt(file, "header (bytes 8..<\(headerEnd)) is not valid JSON")
        }
        guard let header = object as? [String: Any] else {
            throw ModelFileError.corrupt(file, "header is not a JSON object")
        }
        // JSON parsers keep one of two equal keys silently; a file naming a tensor twice is ambiguous, so refuse it.
        if let duplicate = duplicateTopLevelKey(in: json) {
            throw ModelFileError.corrupt(file, "tensor '\(duplicate)' appears twice in the header")
        }
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let strings = raw as? [String: String] else {
                throw ModelFileError.corrupt(file, "__metadata__ must map strings to strings")
            }
            metadata = strings
        }
        var ranges: [(name: String, range: Range<Int>)] = []
        var slots: [String: Slot] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any],
                  let dtypeName = info["dtype"] as? String,
                  let shapeValues = info["shape"] as? [Any],
                  let offsetValues = info["data_offsets"] as? [Any], offsetValues.count == 2
            else {
                throw ModelFileError.corrupt(file, "tensor '\(name)': needs dtype, shape and two data_offsets")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw ModelFileError.corrupt(file, "tensor '\(name)': dtype \(dtypeName) is not supported (F32, F64)")
            }
            let shape = try shapeValues.map { try integer($0, file: file, what: "tensor '\(name)': shape") }
            let begin = try integer(offsetValues[0], file: file, what: "tensor '\(name)': data_offsets")
            let end = try integer(offsetValues[1], file: file, what: "tensor '\(name)': data_offsets")
            guard begin <= end, end <= dataSize else {
                throw ModelFileError.corrupt(file, "tensor '\(name)': data_offsets [\(begin), \(end)] outside the \(dataSize)-byte data section")
            }
            var elements = 1
            for size in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: size)
                guard !overflow, product <= dataSize else {
                    throw ModelFileError.corrupt(file, "tensor '\(name)': shape \(shape) is larger than the file")
                }
                elements = product
            }
            guard elements * dtype.byteCount == end - begin else {
                throw ModelFileError.corrupt(file, "tensor '\(name)': shape \(shape) of \(dtype) needs \(elements * dtype.byteCount) bytes, data_offsets give \(end - begin)")
            }
            ranges.append((name, begin..<end))
            slots[name] = Slot(dtype: dtype, shape: shape, range: begin..<end)
        }
        ranges.sort { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        var position = 0
        for (name, range) in ranges {
            guard range.lowerBound == position else {
                throw ModelFileError.corrupt(file, range.lowerBound < position
                    ? "tensor '\(name)' overlaps another tensor's bytes"
                    : "bytes \(position)..<\(range.lowerBound) of the data section belong to no tensor")
            }
            position = range.upperBound
        }
        guard position == dataSize else {
            throw ModelFileError.corrupt(file, "bytes \(position)..<\(dataSize) of the data section belong to no tensor")
        }
        return (slots, metadata)
    }

    /// The first key that occurs twice at the top level of a JSON object (the JSON is already known to be valid).
    static func duplicateTopLevelKey(in json: ArraySlice<UInt8>) -> String? {
        var seen: Set<[UInt8]> = []
        var depth = 0
        var index = json.startIndex
        var expectingKey = false
        while index < json.endIndex {
            let byte = json[index]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectingKey = depth == 1 && byte == UInt8(ascii: "{")
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                expectingKey = depth == 1
            case UInt8(ascii: "\""):
                // Scan the string, honouring escapes.
                var end = index + 1
                while end < json.endIndex && json[end] != UInt8(ascii: "\"") {
                    end += json[end] == UInt8(ascii: "\\") ? 2 : 1
                }
                if expectingKey && depth == 1 {
                    let key = Array(json[(index + 1)..<Swift.min(end, json.endIndex)])
                    if !seen.insert(key).inserted { return String(decoding: key, as: UTF8.self) }
                    expectingKey = false
                }
                index = end
            default:
                break
            }
            index += 1
        }
        return nil
    }

    private static func integer(_ value: Any, file: String, what: String) throws -> Int {
        // JSONSerialization yields NSNumber; reject fractions, negatives, booleans and huge values.
        guard type(of: value) != Bool.self, let number = value as? NSNumber else {
            throw ModelFileError.corrupt(file, "\(what) must hold non-negative integers")
        }
        let double = number.doubleValue
        guard double >= 0, double <= 9.0e15, double == double.rounded() else {
            throw ModelFileError.corrupt(file, "\(what) must hold non-negative integers, found \(number)")
        }
        return Int(double)
    }
}

/// A model or checkpoint file that cannot be used. Every case names the file.
public enum ModelFileError: Error, Equatable, CustomStringConvertible {
    /// The bytes do not form a valid file.
    case corrupt(String, String)
    /// The file is valid but does not describe a Backprop model (or not this one).
    case incompatible(String, String)
    /// A model and its description disagree, so it is not saved.
    case inconsistent(String)

    public var description: String {
        switch self {
        case .inconsistent(let reason): "the model's description does not match its layers: \(reason)"
        case .corrupt(let file, let reason): "\(file): not a valid model file: \(reason)"
        case .incompatible(let file, let reason): "\(file): \(reason)"
        }
    }
}
