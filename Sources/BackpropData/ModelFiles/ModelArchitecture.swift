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

    /// Builds the model with zero weights, checking every layer's description; `file` names the source in errors.
    public func build<Scalar: TensorScalar>(file: String) throws -> Sequential<Scalar> {
        var previousOutputs: Int?
        let built: [any Layer<Scalar>] = try layers.enumerated().map { index, spec in
            func bad(_ reason: String) -> ModelFileError { .corrupt(file, "architecture layer \(index): \(reason)") }
            switch spec.type {
            case "dense":
                guard let inputs = spec.inputs, let outputs = spec.outputs, inputs > 0, outputs > 0,
                      inputs <= 1 << 24, outputs <= 1 << 24, inputs * outputs <= 1 << 30 else {
                    throw bad("a dense layer needs positive, reasonable 'inputs' and 'outputs'")
                }
                if let previous = previousOutputs, previous != inputs {
                    throw bad("takes \(inputs) inputs but the layer before produces \(previous)")
                }
                previousOutputs = outputs
                return Dense<Scalar>(weight: .zeros(shape: [outputs, inputs]), bias: .zeros(shape: [outputs]))
            case "activation":
                guard let name = spec.function, let activation = Activation(name: name, parameter: spec.parameter) else {
                    throw bad("unknown activation '\(spec.function ?? "")'")
                }
                return ActivationLayer<Scalar>(activation)
            case "dropout":
                guard let rate = spec.rate, rate >= 0, rate < 1 else { throw bad("dropout needs a rate in [0, 1)") }
                return Dropout<Scalar>(rate: rate)
            default:
                throw bad("unknown layer type '\(spec.type)'")
            }
        }
        guard !built.isEmpty else { throw ModelFileError.corrupt(file, "the architecture has no layers") }
        return Sequential(built)
    }
}
