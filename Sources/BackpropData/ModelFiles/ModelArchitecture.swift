import BackpropCore
import BackpropNN

/// The layers of a sequential model as stored in a model file's metadata.
public struct ModelArchitecture: Codable, Sendable, Equatable {
    /// One layer: `dense` (with `inputs`, `outputs`), `activation` (with `function`, optional `parameter`) or
    /// `dropout` (with `rate`).
    public struct LayerSpec: Codable, Sendable, Equatable {
        /// `dense`, `activation` or `dropout`.
        public var type: String
        /// A dense layer's inputs per sample.
        public var inputs: Int?
        /// A dense layer's outputs per sample.
        public var outputs: Int?
        /// An activation's command-line name.
        public var function: String?
        /// An activation's parameter (leaky-ReLU slope, ELU α).
        public var parameter: Double?
        /// A dropout rate.
        public var rate: Double?

        /// Describes one layer.
        public init(type: String, inputs: Int? = nil, outputs: Int? = nil, function: String? = nil,
                    parameter: Double? = nil, rate: Double? = nil) {
            self.type = type
            self.inputs = inputs
            self.outputs = outputs
            self.function = function
            self.parameter = parameter
            self.rate = rate
        }
    }

    /// The layers, first to last.
    public var layers: [LayerSpec]

    /// Describes a model built from `Dense`, `ActivationLayer` and `Dropout` layers.
    ///
    /// - Throws: ``ModelFileError/incompatible(_:_:)`` for any other kind of layer.
    public init<Scalar>(_ model: Sequential<Scalar>) throws {
        layers = try model.layers.map { layer in
            switch layer {
            case let dense as Dense<Scalar>:
                LayerSpec(type: "dense", inputs: dense.inputSize, outputs: dense.outputSize)
            case let activation as ActivationLayer<Scalar>:
                LayerSpec(type: "activation", function: activation.activation.name, parameter: activation.activation.parameter)
            case let dropout as Dropout<Scalar>:
                LayerSpec(type: "dropout", rate: dropout.rate)
            default:
                throw ModelFileError.incompatible("model", "layer \(layer) cannot be saved (Dense, activations and Dropout can)")
            }
        }
    }

    /// The parameters the described layers have, each with its name and shape, in the model's order, after every
    /// layer's description is checked: known types and activations, dropout rates, inputs that match the layer
    /// before, and the ``Limits`` on layers, inputs and parameters. Nothing of the described sizes is allocated.
    ///
    /// - Throws: ``ModelFileError/corrupt(_:_:)`` naming the layer and the problem; `file` names the source.
    public func parameterShapes(file: String) throws -> [(name: String, shape: [Int])] {
        guard !layers.isEmpty else { throw ModelFileError.corrupt(file, "the architecture has no layers") }
        guard layers.count <= Limits.layers else {
            throw ModelFileError.corrupt(file, "the architecture has \(layers.count) layers, more than the limit of \(Limits.layers)")
        }
        var shapes: [(name: String, shape: [Int])] = []
        var previousOutputs: Int?
        var total = 0
        for (index, spec) in layers.enumerated() {
            func bad(_ reason: String) -> ModelFileError { .corrupt(file, "architecture layer \(index): \(reason)") }
            switch spec.type {
            case "dense":
                guard let inputs = spec.inputs, let outputs = spec.outputs, inputs > 0, outputs > 0,
                      inputs <= Limits.features, outputs <= Limits.features else {
                    throw bad("a dense layer needs 'inputs' and 'outputs' from 1 to \(Limits.features)")
                }
                if let previous = previousOutputs, previous != inputs {
                    throw bad("takes \(inputs) inputs but the layer before produces \(previous)")
                }
                total += inputs * outputs + outputs
                guard total <= Limits.parameters else {
                    throw bad("the model would have more than \(Limits.parameters) parameters, the limit")
                }
                previousOutputs = outputs
                shapes += [("\(index).weight", [outputs, inputs]), ("\(index).bias", [outputs])]
            case "activation":
                guard let name = spec.function, Activation(name: name, parameter: spec.parameter) != nil else {
                    throw bad("unknown activation '\(spec.function ?? "")'")
                }
            case "dropout":
                guard let rate = spec.rate, rate >= 0, rate < 1 else { throw bad("dropout needs a rate in [0, 1)") }
            default:
                throw bad("unknown layer type '\(spec.type)'")
            }
        }
        return shapes
    }

    /// Builds the model, checking every layer's description first (``parameterShapes(file:)``).
    ///
    /// - Parameter parameters: the weights, in the order and shapes of ``parameterShapes(file:)``; zeros when `nil`.
    public func build<Scalar: TensorScalar>(file: String, parameters: [Tensor<Scalar>]? = nil) throws -> Sequential<Scalar> {
        let shapes = try parameterShapes(file: file)
        precondition(parameters.map { $0.map(\.shape) == shapes.map(\.shape) } ?? true, "build: parameters do not match the architecture")
        var next = 0
        func parameter() -> Tensor<Scalar> {
            defer { next += 1 }
            return parameters?[next] ?? .zeros(shape: shapes[next].shape)
        }
        return Sequential(layers.map { spec -> any Layer<Scalar> in
            switch spec.type {
            case "dense": return Dense<Scalar>(weight: parameter(), bias: parameter())
            case "activation": return ActivationLayer<Scalar>(Activation(name: spec.function!, parameter: spec.parameter)!)
            default: return Dropout<Scalar>(rate: spec.rate!)
            }
        })
    }
}
