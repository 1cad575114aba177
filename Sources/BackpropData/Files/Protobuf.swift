/// The protocol-buffers wire format, as far as ONNX files and TensorBoard event files need it: fields of varints, fixed 32- and 64-bit values and
/// length-delimited bytes (strings, packed arrays, nested messages). Groups, deprecated since proto2, are refused.
///
/// A reader never trusts a length: every one is checked against the bytes that remain before anything is sliced,
/// and slices share the input's storage (a tensor's raw data is not copied until it becomes a tensor).
enum Protobuf {
    /// A field's number and value.
    struct Field {
        var number: Int
        var value: Value
    }

    /// A field's value, by wire type.
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    /// Bytes that are not a valid encoding.
    struct Malformed: Error {
        var reason: String
    }

    /// Reads the fields of one message in order.
    struct Reader {
        private let bytes: ArraySlice<UInt8>
        private var position: Int

        init(_ bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            position = bytes.startIndex
        }

        /// The next field, or `nil` at the end of the message.
        mutating func next() throws(Malformed) -> Field? {
            guard position < bytes.endIndex else { return nil }
            let key = try varint()
            let number = key >> 3
            guard (1...536_870_911).contains(number) else { throw Malformed(reason: "field number \(number) is out of range") }
            switch key & 7 {
            case 0:
                return Field(number: Int(number), value: .varint(try varint()))
            case 1:
                return Field(number: Int(number), value: .fixed64(UInt64(littleEndianBytes: try take(8))))
            case 2:
                let length = try varint()
                guard length <= UInt64(bytes.endIndex - position) else {
                    throw Malformed(reason: "a field of \(length) bytes runs past the end of its message")
                }
                return Field(number: Int(number), value: .bytes(try take(Int(length))))
            case 5:
                return Field(number: Int(number), value: .fixed32(UInt32(truncatingIfNeeded: UInt64(littleEndianBytes: try take(4)))))
            case let wireType:
                throw Malformed(reason: "wire type \(wireType) of field \(number) is not supported")
            }
        }

        private mutating func varint() throws(Malformed) -> UInt64 {
            try Protobuf.varint(in: bytes, at: &position)
        }

        private mutating func take(_ count: Int) throws(Malformed) -> ArraySlice<UInt8> {
            guard count <= bytes.endIndex - position else { throw Malformed(reason: "a field runs past the end of its message") }
            defer { position += count }
            return bytes[position..<(position + count)]
        }
    }

    /// Decodes the varint at `position` and moves past it.
    static func varint(in bytes: ArraySlice<UInt8>, at position: inout Int) throws(Malformed) -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard position < bytes.endIndex else { throw Malformed(reason: "a varint runs past the end of its message") }
            let byte = bytes[position]
            position += 1
            guard shift < 63 || byte <= 1 else { throw Malformed(reason: "a varint is longer than 64 bits") }
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte & 0x80 == 0 { return value }
        }
        throw Malformed(reason: "a varint is longer than 64 bits")
    }

    /// Appends fields to a message. Fields equal to their default are written anyway: the caller decides what to
    /// omit.
    struct Writer {
        private(set) var bytes: [UInt8] = []

        mutating func varint(_ number: Int, _ value: UInt64) {
            key(number, wireType: 0)
            appendVarint(value)
        }

        /// A signed integer as protobuf's `int64`/`int32` (two's complement, ten bytes when negative).
        mutating func integer(_ number: Int, _ value: Int) {
            varint(number, UInt64(bitPattern: Int64(value)))
        }

        mutating func float(_ number: Int, _ value: Float) {
            key(number, wireType: 5)
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }

        mutating func double(_ number: Int, _ value: Double) {
            key(number, wireType: 1)
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }

        mutating func bytes(_ number: Int, _ value: some Collection<UInt8>) {
            key(number, wireType: 2)
            appendVarint(UInt64(value.count))
            bytes.append(contentsOf: value)
        }

        mutating func string(_ number: Int, _ value: String) {
            bytes(number, Array(value.utf8))
        }

        /// A nested message written by `body`.
        mutating func message(_ number: Int, _ body: (inout Writer) -> Void) {
            var nested = Writer()
            body(&nested)
            bytes(number, nested.bytes)
        }

        /// A packed `repeated int64`.
        mutating func packedIntegers(_ number: Int, _ values: [Int]) {
            var packed = Writer()
            for value in values { packed.appendVarint(UInt64(bitPattern: Int64(value))) }
            bytes(number, packed.bytes)
        }

        /// A packed `repeated float`.
        mutating func packedFloats(_ number: Int, _ values: [Float]) {
            var packed: [UInt8] = []
            packed.reserveCapacity(values.count * 4)
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { packed.append(contentsOf: $0) } }
            bytes(number, packed)
        }

        /// A packed `repeated double`.
        mutating func packedDoubles(_ number: Int, _ values: [Double]) {
            var packed: [UInt8] = []
            packed.reserveCapacity(values.count * 8)
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { packed.append(contentsOf: $0) } }
            bytes(number, packed)
        }

        private mutating func key(_ number: Int, wireType: UInt64) {
            appendVarint(UInt64(number) << 3 | wireType)
        }

        private mutating func appendVarint(_ value: UInt64) {
            var rest = value
            while rest >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
                rest >>= 7
            }
            bytes.append(UInt8(rest))
        }
    }
}

extension Protobuf.Value {
    /// The value as a signed integer (`int64`, `int32`, `enum`), or an error naming `field` for another wire type.
    func integer(_ field: String) throws(Protobuf.Malformed) -> Int {
        guard case .varint(let raw) = self else { throw Protobuf.Malformed(reason: "\(field) is not an integer") }
        return Int(Int64(bitPattern: raw))
    }

    /// The value as a `float`.
    func float(_ field: String) throws(Protobuf.Malformed) -> Float {
        guard case .fixed32(let raw) = self else { throw Protobuf.Malformed(reason: "\(field) is not a float") }
        return Float(bitPattern: raw)
    }

    /// The value as length-delimited bytes.
    func bytes(_ field: String) throws(Protobuf.Malformed) -> ArraySlice<UInt8> {
        guard case .bytes(let bytes) = self else { throw Protobuf.Malformed(reason: "\(field) is not length-delimited") }
        return bytes
    }

    /// The value as UTF-8 text of at most `limit` bytes.
    func string(_ field: String, limit: Int = 4096) throws(Protobuf.Malformed) -> String {
        let bytes = try bytes(field)
        guard bytes.count <= limit else { throw Protobuf.Malformed(reason: "\(field) is longer than \(limit) bytes") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw Protobuf.Malformed(reason: "\(field) is not UTF-8") }
        return text
    }

    /// The integers of a `repeated int64` field in either encoding: one varint, or a packed run. At most `limit`
    /// values are accepted in one run.
    func integers(_ field: String, limit: Int) throws(Protobuf.Malformed) -> [Int] {
        switch self {
        case .varint: return [try integer(field)]
        case .bytes(let packed):
            var values: [Int] = []
            var position = packed.startIndex
            while position < packed.endIndex {
                guard values.count < limit else { throw Protobuf.Malformed(reason: "\(field) has more than \(limit) values") }
                values.append(Int(Int64(bitPattern: try Protobuf.varint(in: packed, at: &position))))
            }
            return values
        default: throw Protobuf.Malformed(reason: "\(field) is not an integer")
        }
    }

    /// The floats of a `repeated float` field in either encoding: one fixed32, or a packed run.
    func floats(_ field: String) throws(Protobuf.Malformed) -> [Float] {
        switch self {
        case .fixed32(let raw): return [Float(bitPattern: raw)]
        case .bytes(let packed):
            guard packed.count % 4 == 0 else { throw Protobuf.Malformed(reason: "\(field) is not a whole number of floats") }
            return littleEndianFloats(packed)
        default: throw Protobuf.Malformed(reason: "\(field) is not a float")
        }
    }
}

/// Little-endian IEEE-754 single-precision values, four bytes each.
func littleEndianFloats(_ bytes: ArraySlice<UInt8>) -> [Float] {
    var values = [Float](repeating: 0, count: bytes.count / 4)
    values.withUnsafeMutableBytes { target in
        bytes.withUnsafeBytes { source in target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<target.count])) }
    }
    #if _endian(big)
    for index in values.indices { values[index] = Float(bitPattern: UInt32(littleEndian: values[index].bitPattern)) }
    #endif
    return values
}

/// Little-endian 64-bit words, eight bytes each (a trailing partial word is ignored).
func littleEndianWords(_ bytes: ArraySlice<UInt8>) -> [UInt64] {
    stride(from: bytes.startIndex, to: bytes.endIndex - 7, by: 8).map { UInt64(littleEndianBytes: bytes[$0..<($0 + 8)]) }
}

extension UInt64 {
    /// The value of up to eight little-endian bytes.
    init(littleEndianBytes bytes: ArraySlice<UInt8>) {
        var value: UInt64 = 0
        for (offset, byte) in bytes.enumerated() { value |= UInt64(byte) << UInt64(8 * offset) }
        self = value
    }
}
