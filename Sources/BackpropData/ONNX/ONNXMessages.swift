/// The part of ONNX's protobuf schema (`onnx.proto`, IR version 8 and later) that a sequential network needs: a
/// model with its operator sets and metadata, one graph of nodes, their attributes, tensors and the typed inputs and
/// outputs. Field numbers are `onnx.proto`'s; fields outside this subset are skipped when reading and never written.
///
/// Reading treats the bytes as untrusted: every count and size is bounded by ``ONNXLimits`` while it is read, a
/// nested graph (control flow) is skipped unread, and a tensor's element count must match its bytes exactly.
public struct ONNXModel: Equatable, Sendable {
    /// The IR version (9 for ONNX 1.14 to 1.16's files; ONNX Runtime reads 3 and later).
    public var irVersion: Int
    /// Operator set versions by domain (`""` is the default `ai.onnx` domain).
    public var opsets: [String: Int]
    /// The program that wrote the file.
    public var producerName: String
    /// Its version.
    public var producerVersion: String
    /// The network.
    public var graph: ONNXGraph
    /// `metadata_props`: key-value pairs in order.
    public var metadata: [ONNXMetadataEntry]
}

/// One of a model's `metadata_props`.
public struct ONNXMetadataEntry: Equatable, Sendable {
    /// The entry's name (`class_names`).
    public var key: String
    /// Its text.
    public var value: String
}

/// A graph: nodes in topological order, constant tensors (initializers), and the typed inputs and outputs.
public struct ONNXGraph: Equatable, Sendable {
    /// The graph's name.
    public var name: String
    /// The operator applications, each after the nodes whose outputs it reads.
    public var nodes: [ONNXNode]
    /// Constant tensors (weights), referred to by name.
    public var initializers: [ONNXTensor]
    /// The values a caller feeds.
    public var inputs: [ONNXValueInfo]
    /// The values the graph returns.
    public var outputs: [ONNXValueInfo]
}

/// One operator application.
public struct ONNXNode: Equatable, Sendable {
    /// The operator (`"Conv"`).
    public var opType: String
    /// Its domain (`""` for `ai.onnx`, `"ai.onnx.ml"`).
    public var domain: String
    /// The node's name (often empty).
    public var name: String
    /// Value names consumed, in the operator's order (`""` for an omitted optional input).
    public var inputs: [String]
    /// Value names produced.
    public var outputs: [String]
    /// The operator's settings.
    public var attributes: [ONNXAttribute]

    /// The attribute called `name`, if present.
    public func attribute(_ name: String) -> ONNXAttribute.Value? {
        attributes.first { $0.name == name }?.value
    }
}

/// A named operator attribute.
public struct ONNXAttribute: Equatable, Sendable {
    /// An attribute's value, by type.
    public enum Value: Equatable, Sendable {
        /// `FLOAT`.
        case float(Float)
        /// `INT` (64-bit).
        case int(Int)
        /// `STRING` (UTF-8).
        case string(String)
        /// `TENSOR`.
        case tensor(ONNXTensor)
        /// `FLOATS`.
        case floats([Float])
        /// `INTS`.
        case ints([Int])
        /// `STRINGS`.
        case strings([String])
        /// A type this subset does not read (a graph, a sparse tensor, lists of them); it makes any operator that
        /// meets it unsupported.
        case unsupported(type: Int)
    }

    /// The attribute's name (`"kernel_shape"`).
    public var name: String
    /// Its value.
    public var value: Value
}

/// A constant tensor.
public struct ONNXTensor: Equatable, Sendable {
    /// Its elements, by ONNX data type.
    public enum Elements: Equatable, Sendable {
        /// `FLOAT` (type 1).
        case float([Float])
        /// `DOUBLE` (type 11).
        case double([Double])
        /// `INT64` (type 7).
        case int64([Int])
        /// `STRING` (type 8).
        case string([String])
    }

    /// The name nodes refer to it by.
    public var name: String
    /// Its shape.
    public var dims: [Int]
    /// Its values, in row-major order.
    public var elements: Elements

    /// The number of elements its dimensions describe.
    public var elementCount: Int { dims.reduce(1, *) }

    /// The elements as Float32 values (doubles rounded), or `nil` for integers and strings.
    public var floatValues: [Float]? {
        switch elements {
        case .float(let values): values
        case .double(let values): values.map(Float.init)
        case .int64, .string: nil
        }
    }
}

/// A graph input's or output's name and type: a tensor of an element type and shape.
public struct ONNXValueInfo: Equatable, Sendable {
    /// One dimension of a shape.
    public enum Dimension: Equatable, Sendable {
        /// A size known in advance.
        case fixed(Int)
        /// A named size that varies (`"batch"`).
        case symbolic(String)
        /// Neither stated.
        case unknown
    }

    /// The value's name.
    public var name: String
    /// The ONNX data type of the elements (1 float, 8 string, …; 0 when not stated).
    public var elementType: Int
    /// The shape, or `nil` when not stated.
    public var shape: [Dimension]?
}

/// The bounds on what an ONNX file may hold, checked while it is read, before anything of that size is allocated.
public enum ONNXLimits {
    /// The largest file read (protobuf's own limit on one message).
    public static let fileBytes = Int(Int32.max)
    /// The most nodes (and the most initializers) in the graph.
    public static let nodes = 4 * Limits.layers + 64
    /// The most graph inputs or outputs (a CSV model takes one input per column).
    public static let graphValues = Limits.csvColumns
    /// The most inputs, outputs or attributes of one node, and dimensions of one tensor.
    public static let perNode = 64
    /// The most values in one list attribute (one-hot categories, a convolution's pads).
    public static let listValues = 1 << 16
    /// The most metadata entries.
    public static let metadataEntries = 256
    /// The longest name, attribute string or metadata key, in bytes.
    public static let nameBytes = 4096
    /// The longest metadata value (the training history of a long run), in bytes.
    public static let metadataValueBytes = 1 << 26
}

// MARK: - Reading

extension ONNXModel {
    /// Parses a model from its bytes.
    ///
    /// - Throws: ``Protobuf/Malformed`` naming the field that is not valid or exceeds ``ONNXLimits``.
    ///
    /// - Parameter externalData: reads the files tensors keep their data in (`nil`: such tensors are refused).
    init(decoding bytes: ArraySlice<UInt8>, externalData: ONNXExternalData? = nil) throws(Protobuf.Malformed) {
        self.init(irVersion: 0, opsets: [:], producerName: "", producerVersion: "",
                  graph: ONNXGraph(name: "", nodes: [], initializers: [], inputs: [], outputs: []), metadata: [])
        var sawGraph = false
        var reader = Protobuf.Reader(bytes)
        while let field = try reader.next() {
            switch field.number {
            case 1: irVersion = try field.value.integer("ir_version")
            case 2: producerName = try field.value.string("producer_name")
            case 3: producerVersion = try field.value.string("producer_version")
            case 7:
                graph = try ONNXGraph(decoding: try field.value.bytes("graph"), externalData: externalData)
                sawGraph = true
            case 8:
                guard opsets.count < ONNXLimits.perNode else { throw Protobuf.Malformed(reason: "more than \(ONNXLimits.perNode) operator sets") }
                var domain = "", version = 0
                var entry = Protobuf.Reader(try field.value.bytes("opset_import"))
                while let part = try entry.next() {
                    switch part.number {
                    case 1: domain = try part.value.string("opset_import.domain")
                    case 2: version = try part.value.integer("opset_import.version")
                    default: break
                    }
                }
                opsets[domain] = version
            case 14:
                guard metadata.count < ONNXLimits.metadataEntries else {
                    throw Protobuf.Malformed(reason: "more than \(ONNXLimits.metadataEntries) metadata entries")
                }
                metadata.append(try ONNXMetadataEntry(decoding: try field.value.bytes("metadata_props"), field: "metadata_props",
                                                      valueLimit: ONNXLimits.metadataValueBytes))
            default: break
            }
        }
        guard sawGraph else { throw Protobuf.Malformed(reason: "the model has no graph") }
    }
}

extension ONNXMetadataEntry {
    /// A `StringStringEntryProto` (model metadata, a tensor's external-data location), its value at most
    /// `valueLimit` bytes; `field` names it in errors.
    init(decoding bytes: ArraySlice<UInt8>, field: String, valueLimit: Int) throws(Protobuf.Malformed) {
        self.init(key: "", value: "")
        var reader = Protobuf.Reader(bytes)
        while let part = try reader.next() {
            switch part.number {
            case 1: key = try part.value.string("\(field).key")
            case 2: value = try part.value.string("\(field).value", limit: valueLimit)
            default: break
            }
        }
    }
}

extension ONNXGraph {
    init(decoding bytes: ArraySlice<UInt8>, externalData: ONNXExternalData?) throws(Protobuf.Malformed) {
        self.init(name: "", nodes: [], initializers: [], inputs: [], outputs: [])
        var reader = Protobuf.Reader(bytes)
        while let field = try reader.next() {
            switch field.number {
            case 1:
                guard nodes.count < ONNXLimits.nodes else { throw Protobuf.Malformed(reason: "the graph has more than \(ONNXLimits.nodes) nodes") }
                nodes.append(try ONNXNode(decoding: try field.value.bytes("node")))
            case 2: name = try field.value.string("graph.name")
            case 5:
                guard initializers.count < ONNXLimits.nodes else {
                    throw Protobuf.Malformed(reason: "the graph has more than \(ONNXLimits.nodes) initializers")
                }
                initializers.append(try ONNXTensor(decoding: try field.value.bytes("initializer"), externalData: externalData))
            case 11, 12:
                guard inputs.count + outputs.count < ONNXLimits.graphValues else {
                    throw Protobuf.Malformed(reason: "the graph has more than \(ONNXLimits.graphValues) inputs and outputs")
                }
                let value = try ONNXValueInfo(decoding: try field.value.bytes(field.number == 11 ? "input" : "output"))
                if field.number == 11 { inputs.append(value) } else { outputs.append(value) }
            case 15: throw Protobuf.Malformed(reason: "sparse initializers are not supported")
            default: break
            }
        }
    }
}

extension ONNXNode {
    init(decoding bytes: ArraySlice<UInt8>) throws(Protobuf.Malformed) {
        self.init(opType: "", domain: "", name: "", inputs: [], outputs: [], attributes: [])
        var reader = Protobuf.Reader(bytes)
        while let field = try reader.next() {
            switch field.number {
            case 1, 2:
                guard inputs.count + outputs.count < ONNXLimits.perNode else {
                    throw Protobuf.Malformed(reason: "a node has more than \(ONNXLimits.perNode) inputs and outputs")
                }
                let value = try field.value.string(field.number == 1 ? "node.input" : "node.output", limit: ONNXLimits.nameBytes)
                if field.number == 1 { inputs.append(value) } else { outputs.append(value) }
            case 3: name = try field.value.string("node.name", limit: ONNXLimits.nameBytes)
            case 4: opType = try field.value.string("node.op_type", limit: ONNXLimits.nameBytes)
            case 7: domain = try field.value.string("node.domain", limit: ONNXLimits.nameBytes)
            case 5:
                guard attributes.count < ONNXLimits.perNode else {
                    throw Protobuf.Malformed(reason: "a node has more than \(ONNXLimits.perNode) attributes")
                }
                attributes.append(try ONNXAttribute(decoding: try field.value.bytes("attribute")))
            default: break
            }
        }
    }
}

extension ONNXAttribute {
    init(decoding bytes: ArraySlice<UInt8>) throws(Protobuf.Malformed) {
        var name = "", type = 0
        var float: Float = 0, int = 0, string = "", tensor: ONNXTensor?
        var floats: [Float] = [], ints: [Int] = [], strings: [String] = []
        var reader = Protobuf.Reader(bytes)
        func checkList(_ count: Int) throws(Protobuf.Malformed) {
            guard count <= ONNXLimits.listValues else {
                throw Protobuf.Malformed(reason: "attribute '\(name)' has more than \(ONNXLimits.listValues) values")
            }
        }
        while let field = try reader.next() {
            switch field.number {
            case 1: name = try field.value.string("attribute.name", limit: ONNXLimits.nameBytes)
            case 20: type = try field.value.integer("attribute.type")
            case 2: float = try field.value.float("attribute.f")
            case 3: int = try field.value.integer("attribute.i")
            case 4: string = try field.value.string("attribute.s", limit: ONNXLimits.nameBytes)
            case 5: tensor = try ONNXTensor(decoding: try field.value.bytes("attribute.t"))
            case 7:
                floats += try field.value.floats("attribute.floats")
                try checkList(floats.count)
            case 8:
                ints += try field.value.integers("attribute.ints", limit: ONNXLimits.listValues)
                try checkList(ints.count)
            case 9:
                strings.append(try field.value.string("attribute.strings", limit: ONNXLimits.nameBytes))
                try checkList(strings.count)
            default: break  // a graph, sparse tensor or type: skipped unread
            }
        }
        let value: Value
        switch type {
        case 1: value = .float(float)
        case 2: value = .int(int)
        case 3: value = .string(string)
        case 4:
            guard let tensor else { throw Protobuf.Malformed(reason: "tensor attribute '\(name)' holds no tensor") }
            value = .tensor(tensor)
        case 6: value = .floats(floats)
        case 7: value = .ints(ints)
        case 8: value = .strings(strings)
        default: value = .unsupported(type: type)
        }
        self.init(name: name, value: value)
    }
}

extension ONNXTensor {
    init(decoding bytes: ArraySlice<UInt8>, externalData: ONNXExternalData? = nil) throws(Protobuf.Malformed) {
        var name = "", dims: [Int] = [], dataType = 0, external = false
        var location: [String: String] = [:]
        var raw: ArraySlice<UInt8>?
        var floats: [Float] = [], doubles: [Double] = [], integers: [Int] = [], strings: [String] = []
        var reader = Protobuf.Reader(bytes)
        while let field = try reader.next() {
            switch field.number {
            case 1:
                dims += try field.value.integers("tensor.dims", limit: ONNXLimits.perNode)
                guard dims.count <= ONNXLimits.perNode else { throw Protobuf.Malformed(reason: "a tensor has more than \(ONNXLimits.perNode) dimensions") }
            case 2: dataType = try field.value.integer("tensor.data_type")
            case 4: floats += try field.value.floats("tensor.float_data")
            case 7: integers += try field.value.integers("tensor.int64_data", limit: Limits.parameters)
            case 6:
                guard strings.count < ONNXLimits.listValues else { throw Protobuf.Malformed(reason: "a string tensor has too many values") }
                strings.append(try field.value.string("tensor.string_data", limit: ONNXLimits.nameBytes))
            case 8: name = try field.value.string("tensor.name", limit: ONNXLimits.nameBytes)
            case 9: raw = try field.value.bytes("tensor.raw_data")
            case 10:
                let packed = try field.value.bytes("tensor.double_data")
                guard packed.count % 8 == 0 else { throw Protobuf.Malformed(reason: "tensor.double_data is not a whole number of doubles") }
                doubles += littleEndianWords(packed).map(Double.init(bitPattern:))
            case 14: external = try field.value.integer("tensor.data_location") == 1
            case 13:
                guard location.count < 8 else { throw Protobuf.Malformed(reason: "a tensor has too many external_data entries") }
                let entry = try ONNXMetadataEntry(decoding: try field.value.bytes("tensor.external_data"), field: "external_data",
                                                  valueLimit: ONNXLimits.nameBytes)
                location[entry.key] = entry.value
            default: break
            }
        }
        let label = name.isEmpty ? "a tensor" : "tensor '\(name)'"
        if external {
            guard let externalData else {
                throw Protobuf.Malformed(reason: "\(label) keeps its data in an external file; import the model from its file path")
            }
            raw = try externalData.bytes(location, for: label)
        }
        var count = 1
        for dim in dims {
            guard (0...Limits.parameters).contains(dim) else { throw Protobuf.Malformed(reason: "\(label) has a dimension of \(dim)") }
            count *= dim  // both factors ≤ 2²⁸ and the product is checked below, so it cannot overflow
            guard count <= Limits.parameters else { throw Protobuf.Malformed(reason: "\(label) has more than \(Limits.parameters) elements") }
        }
        func check(_ actual: Int, width: Int = 1) throws(Protobuf.Malformed) {
            guard actual == count * width else {
                throw Protobuf.Malformed(reason: "\(label) of shape \(dims) holds \(actual / width) values")
            }
        }
        let elements: Elements
        switch dataType {
        case 1:
            if let raw {
                try check(raw.count, width: 4)
                floats = littleEndianFloats(raw)
            }
            try check(floats.count)
            elements = .float(floats)
        case 11:
            if let raw {
                try check(raw.count, width: 8)
                doubles = littleEndianWords(raw).map(Double.init(bitPattern:))
            }
            try check(doubles.count)
            elements = .double(doubles)
        case 7:
            if let raw {
                try check(raw.count, width: 8)
                integers = littleEndianWords(raw).map { Int(Int64(bitPattern: $0)) }
            }
            try check(integers.count)
            elements = .int64(integers)
        case 8:
            try check(strings.count)
            elements = .string(strings)
        default:
            throw Protobuf.Malformed(reason: "\(label) has data type \(dataType); float, double, int64 and string are supported")
        }
        self.init(name: name, dims: dims, elements: elements)
    }
}

extension ONNXValueInfo {
    init(decoding bytes: ArraySlice<UInt8>) throws(Protobuf.Malformed) {
        self.init(name: "", elementType: 0, shape: nil)
        var reader = Protobuf.Reader(bytes)
        while let field = try reader.next() {
            switch field.number {
            case 1: name = try field.value.string("value_info.name", limit: ONNXLimits.nameBytes)
            case 2:
                var type = Protobuf.Reader(try field.value.bytes("value_info.type"))
                while let kind = try type.next() {
                    guard kind.number == 1 else { continue }  // sequences, maps and other types stay unread
                    var tensor = Protobuf.Reader(try kind.value.bytes("type.tensor_type"))
                    while let part = try tensor.next() {
                        switch part.number {
                        case 1: elementType = try part.value.integer("tensor_type.elem_type")
                        case 2: shape = try Self.decodeShape(try part.value.bytes("tensor_type.shape"))
                        default: break
                        }
                    }
                }
            default: break
            }
        }
    }

    private static func decodeShape(_ bytes: ArraySlice<UInt8>) throws(Protobuf.Malformed) -> [Dimension] {
        var dimensions: [Dimension] = []
        var reader = Protobuf.Reader(bytes)
        while let field = try reader.next() {
            guard field.number == 1 else { continue }
            guard dimensions.count < ONNXLimits.perNode else { throw Protobuf.Malformed(reason: "a shape has more than \(ONNXLimits.perNode) dimensions") }
            var dimension = Dimension.unknown
            var parts = Protobuf.Reader(try field.value.bytes("shape.dim"))
            while let part = try parts.next() {
                switch part.number {
                case 1: dimension = .fixed(try part.value.integer("dim.dim_value"))
                case 2: dimension = .symbolic(try part.value.string("dim.dim_param", limit: ONNXLimits.nameBytes))
                default: break
                }
            }
            dimensions.append(dimension)
        }
        return dimensions
    }
}

// MARK: - Writing

extension ONNXModel {
    /// The model's bytes.
    public func encoded() -> [UInt8] {
        var writer = Protobuf.Writer()
        writer.integer(1, irVersion)
        writer.string(2, producerName)
        writer.string(3, producerVersion)
        writer.message(7) { graph.encode(to: &$0) }
        for (domain, version) in opsets.sorted(by: { $0.key < $1.key }) {
            writer.message(8) {
                $0.string(1, domain)
                $0.integer(2, version)
            }
        }
        for entry in metadata {
            writer.message(14) {
                $0.string(1, entry.key)
                $0.string(2, entry.value)
            }
        }
        return writer.bytes
    }
}

extension ONNXGraph {
    func encode(to writer: inout Protobuf.Writer) {
        for node in nodes { writer.message(1) { node.encode(to: &$0) } }
        writer.string(2, name)
        for tensor in initializers { writer.message(5) { tensor.encode(to: &$0) } }
        for input in inputs { writer.message(11) { input.encode(to: &$0) } }
        for output in outputs { writer.message(12) { output.encode(to: &$0) } }
    }
}

extension ONNXNode {
    func encode(to writer: inout Protobuf.Writer) {
        for input in inputs { writer.string(1, input) }
        for output in outputs { writer.string(2, output) }
        if !name.isEmpty { writer.string(3, name) }
        writer.string(4, opType)
        for attribute in attributes { writer.message(5) { attribute.encode(to: &$0) } }
        if !domain.isEmpty { writer.string(7, domain) }
    }
}

extension ONNXAttribute {
    func encode(to writer: inout Protobuf.Writer) {
        writer.string(1, name)
        switch value {
        case .float(let value):
            writer.float(2, value)
            writer.integer(20, 1)
        case .int(let value):
            writer.integer(3, value)
            writer.integer(20, 2)
        case .string(let value):
            writer.string(4, value)
            writer.integer(20, 3)
        case .tensor(let tensor):
            writer.message(5) { tensor.encode(to: &$0) }
            writer.integer(20, 4)
        case .floats(let values):
            writer.packedFloats(7, values)
            writer.integer(20, 6)
        case .ints(let values):
            writer.packedIntegers(8, values)
            writer.integer(20, 7)
        case .strings(let values):
            for value in values { writer.string(9, value) }
            writer.integer(20, 8)
        case .unsupported(let type):
            writer.integer(20, type)
        }
    }
}

extension ONNXTensor {
    func encode(to writer: inout Protobuf.Writer) {
        if !dims.isEmpty { writer.packedIntegers(1, dims) }
        switch elements {
        case .float(let values):
            writer.integer(2, 1)
            var raw: [UInt8] = []
            raw.reserveCapacity(values.count * 4)
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
            writer.bytes(9, raw)
        case .double(let values):
            writer.integer(2, 11)
            var raw: [UInt8] = []
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
            writer.bytes(9, raw)
        case .int64(let values):
            writer.integer(2, 7)
            var raw: [UInt8] = []
            for value in values { withUnsafeBytes(of: Int64(value).littleEndian) { raw.append(contentsOf: $0) } }
            writer.bytes(9, raw)
        case .string(let values):
            writer.integer(2, 8)
            for value in values { writer.string(6, value) }
        }
        writer.string(8, name)
    }
}

extension ONNXValueInfo {
    func encode(to writer: inout Protobuf.Writer) {
        writer.string(1, name)
        writer.message(2) { type in
            type.message(1) { tensor in
                tensor.integer(1, elementType)
                if let shape {
                    tensor.message(2) { dims in
                        for dimension in shape {
                            dims.message(1) { dim in
                                switch dimension {
                                case .fixed(let size): dim.integer(1, size)
                                case .symbolic(let name): dim.string(2, name)
                                case .unknown: break
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The files next to an ONNX model that hold its tensors' data (`torch.onnx.export` writes `model.onnx.data` by
/// default), each read once. A location must name a file in the model's own directory: a path that leaves it, an
/// absolute path or a range outside the file is refused.
final class ONNXExternalData {
    private let directory: String
    private var files: [String: [UInt8]] = [:]

    /// Data files beside the model at `modelPath`.
    init(besideModelAt modelPath: String) {
        let slash = modelPath.lastIndex(of: "/")
        directory = slash.map { String(modelPath[...$0]) } ?? ""
    }

    /// The bytes an `external_data` entry (`location`, optional `offset` and `length`) names.
    func bytes(_ entry: [String: String], for label: String) throws(Protobuf.Malformed) -> ArraySlice<UInt8> {
        guard let location = entry["location"], !location.isEmpty, !location.hasPrefix("/"),
              !location.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw Protobuf.Malformed(reason: "\(label) names an external file outside the model's directory")
        }
        if files[location] == nil {
            do {
                files[location] = try FileBytes.read(directory + location, limit: 1 << 32)
            } catch {
                throw Protobuf.Malformed(reason: "\(label) keeps its data in \(location), which cannot be read: \(error)")
            }
        }
        let file = files[location]!
        let outside = Protobuf.Malformed(reason: "\(label) names bytes outside \(location) (\(file.count) bytes)")
        guard let offset = Int(entry["offset"] ?? "0"), (0...file.count).contains(offset) else { throw outside }
        // Without a length, the data runs to the end of the file.
        guard let length = entry["length"].map({ Int($0) }) ?? (file.count - offset), (0...(file.count - offset)).contains(length) else {
            throw outside
        }
        return file[offset..<(offset + length)]
    }
}
