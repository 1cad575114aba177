import BackpropCore

/// Appends nodes and initializers to a graph under construction. Every value is named by the caller after its role
/// (`"scaled"`, `"3.output"`), so that the same model always gives the same graph, and the importer can rebuild a
/// part of it and compare.
struct ONNXGraphBuilder {
    private(set) var nodes: [ONNXNode] = []
    private(set) var initializers: [ONNXTensor] = []
    /// Domains of the operators used, with the operator-set version each needs.
    private(set) var domains: Set<String> = []

    /// Appends `opType(inputs) → output` and returns `output`.
    @discardableResult
    mutating func add(_ opType: String, _ inputs: [String], output: String, attributes: [ONNXAttribute] = [],
                      domain: String = "") -> String {
        nodes.append(ONNXNode(opType: opType, domain: domain, name: output, inputs: inputs, outputs: [output], attributes: attributes))
        domains.insert(domain)
        return output
    }

    /// Adds a Float32 constant of `dims` and returns its name.
    @discardableResult
    mutating func constant(_ name: String, _ values: [Float], dims: [Int]) -> String {
        initializers.append(ONNXTensor(name: name, dims: dims, elements: .float(values)))
        return name
    }

    /// Adds a tensor of the model as a constant of its own shape.
    @discardableResult
    mutating func constant(_ name: String, _ tensor: Tensor<Float>) -> String {
        constant(name, tensor.scalars, dims: tensor.shape)
    }

    /// Adds a vector of 64-bit integers (a shape).
    @discardableResult
    mutating func constant(_ name: String, integers: [Int]) -> String {
        initializers.append(ONNXTensor(name: name, dims: [integers.count], elements: .int64(integers)))
        return name
    }

    /// Adds a string constant of `dims`.
    @discardableResult
    mutating func constant(_ name: String, strings: [String], dims: [Int]) -> String {
        initializers.append(ONNXTensor(name: name, dims: dims, elements: .string(strings)))
        return name
    }
}

extension ONNXAttribute {
    static func int(_ name: String, _ value: Int) -> ONNXAttribute { ONNXAttribute(name: name, value: .int(value)) }
    static func ints(_ name: String, _ values: [Int]) -> ONNXAttribute { ONNXAttribute(name: name, value: .ints(values)) }
    static func float(_ name: String, _ value: Double) -> ONNXAttribute { ONNXAttribute(name: name, value: .float(Float(value))) }
    static func string(_ name: String, _ value: String) -> ONNXAttribute { ONNXAttribute(name: name, value: .string(value)) }
    static func strings(_ name: String, _ values: [String]) -> ONNXAttribute { ONNXAttribute(name: name, value: .strings(values)) }
}
