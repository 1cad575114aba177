import BackpropCore
import BackpropNN
import Foundation

/// The layers of a sequential model as stored in a model file's metadata: the shape of one input sample and each
/// layer's `LayerSpecification`, tagged with its kind.
///
/// ```json
/// {"inputShape": [1, 28, 28],
///  "layers": [{"type": "conv2d", "inputs": 1, "outputs": 32, "window": {…}, "bias": true},
///             {"type": "activation", "function": "relu"}, …]}
/// ```
/// Files of the first format (`backprop.model.v1`) have no `inputShape` and only `dense`, `activation` and
/// `dropout` layers, which read the same way; their input shape is the first dense layer's inputs.
public struct ModelArchitecture: Sendable {
    /// The shape of one input sample, when stored (always, from the second format on).
    public var inputShape: [Int]?
    /// The layers, first to last.
    public var layers: [any LayerSpecification]

    /// Describes a network by its layers.
    public init(inputShape: [Int]?, layers: [any LayerSpecification]) {
        self.inputShape = inputShape
        self.layers = layers
    }

    /// Describes a model.
    ///
    /// - Throws: ``ModelFileError/incompatible(_:_:)`` for a layer that has no `specification`.
    public init<Scalar>(_ model: Sequential<Scalar>) throws {
        inputShape = model.fixedInputShape
        layers = try model.layers.map { layer in
            guard let specification = layer.specification else {
                throw ModelFileError.incompatible("model", "layer \(layer) cannot be saved: it has no specification")
            }
            return specification
        }
    }

    /// The validated description: input and output shapes, and the names and shapes of every parameter and state
    /// tensor, in the model's order.
    public struct Plan: Sendable {
        /// The shape of one input sample.
        public var inputShape: [Int]
        /// The shape of one output sample.
        public var outputShape: [Int]
        /// `"<layer>.<name>"` and shape of each parameter.
        public var parameters: [TensorSlot]
        /// `"<layer>.<name>"` and shape of each state tensor.
        public var state: [TensorSlot]
        /// Each layer's plan.
        public var layers: [LayerPlan]
    }

    /// Checks every layer against the shape of its input, and the ``Limits`` on layers, values per sample and
    /// parameters, without allocating any of the described sizes.
    ///
    /// - Throws: ``ModelFileError/corrupt(_:_:)`` naming the layer and the problem; `file` names the source.
    public func plan(file: String) throws -> Plan {
        guard !layers.isEmpty else { throw ModelFileError.corrupt(file, "the architecture has no layers") }
        guard layers.count <= Limits.layers else {
            throw ModelFileError.corrupt(file, "the architecture has \(layers.count) layers, more than the limit of \(Limits.layers)")
        }
        guard let input = inputShape ?? layers.lazy.compactMap(\.fixedInputShape).first else {
            throw ModelFileError.corrupt(file, "the architecture states no input shape")
        }
        func valuesPerSample(_ shape: [Int], _ what: String) throws -> Int {
            guard let count = try? LayerPlan.elementCount(shape, of: what), count <= Limits.sampleValues else {
                throw ModelFileError.corrupt(file, "\(what) \(shape) holds more than \(Limits.sampleValues) values per sample, the limit")
            }
            return count
        }
        _ = try valuesPerSample(input, "the input shape")
        var plan = Plan(inputShape: input, outputShape: input, parameters: [], state: [], layers: [])
        var total = 0
        for (index, layer) in layers.enumerated() {
            let kind = type(of: layer).kind
            let layerPlan: LayerPlan
            do {
                layerPlan = try layer.plan(forInput: plan.outputShape)
            } catch {
                throw ModelFileError.corrupt(file, "architecture layer \(index) (\(kind)): \(error.message)")
            }
            _ = try valuesPerSample(layerPlan.outputShape, "architecture layer \(index) (\(kind)) produces")
            for slot in layerPlan.parameters + layerPlan.state {
                total += slot.shape.reduce(1, *)  // each tensor is within LayerPlan's bounds
                guard total <= Limits.parameters else {
                    throw ModelFileError.corrupt(file, "architecture layer \(index) (\(kind)): the model would have more than \(Limits.parameters) parameters, the limit")
                }
            }
            plan.parameters += layerPlan.parameters.map { TensorSlot("\(index).\($0.name)", $0.shape) }
            plan.state += layerPlan.state.map { TensorSlot("\(index).\($0.name)", $0.shape) }
            plan.layers.append(layerPlan)
            plan.outputShape = layerPlan.outputShape
        }
        return plan
    }

    /// Builds the model, checking the description first (``plan(file:)``).
    ///
    /// - Parameters:
    ///   - file: the file the description came from, named in errors.
    ///   - parameters: the weights, in the order and shapes of the plan's parameters.
    ///   - state: the state tensors, in the order and shapes of the plan's state.
    public func build<Scalar: TensorScalar>(file: String, parameters: [Tensor<Scalar>], state: [Tensor<Scalar>]) throws -> Sequential<Scalar> {
        let plan = try self.plan(file: file)
        precondition(parameters.map(\.shape) == plan.parameters.map(\.shape) && state.map(\.shape) == plan.state.map(\.shape),
                     "build: the tensors do not match the architecture")
        var nextParameter = 0, nextState = 0
        var built: [any Layer<Scalar>] = []
        for (layer, layerPlan) in zip(layers, plan.layers) {
            let weights = Array(parameters[nextParameter..<(nextParameter + layerPlan.parameters.count)])
            let tensors = Array(state[nextState..<(nextState + layerPlan.state.count)])
            built.append(layer.makeLayer(parameters: weights, state: tensors))
            nextParameter += weights.count
            nextState += tensors.count
        }
        return Sequential(built, inputShape: plan.inputShape)
    }
}

/// An architecture whose layers cannot be read.
public struct ArchitectureError: Error, CustomStringConvertible {
    /// What is wrong.
    public var description: String
}

extension ModelArchitecture: Codable {
    private enum CodingKeys: String, CodingKey {
        case inputShape, layers
    }

    private struct TypeKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
        static let type = TypeKey(stringValue: "type")
    }

    /// A layer's specification with its kind in the same JSON object.
    private struct TaggedLayer: Codable {
        var specification: any LayerSpecification

        init(_ specification: any LayerSpecification) {
            self.specification = specification
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: TypeKey.self)
            let kind = try container.decode(String.self, forKey: .type)
            guard let type = LayerKinds.specification(named: kind) else {
                throw ArchitectureError(description: "unknown layer type '\(kind)' (known: \(LayerKinds.all.map { $0.kind }.joined(separator: ", ")))")
            }
            specification = try type.init(from: decoder)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: TypeKey.self)
            try container.encode(type(of: specification).kind, forKey: .type)
            try specification.encode(to: encoder)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        inputShape = try container.decodeIfPresent([Int].self, forKey: .inputShape)
        layers = try container.decode([TaggedLayer].self, forKey: .layers).map(\.specification)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(inputShape, forKey: .inputShape)
        try container.encode(layers.map(TaggedLayer.init), forKey: .layers)
    }
}
