import BackpropCore

/// A differentiable function with trainable parameters: the building block of a network.
///
/// A layer lists its tensors explicitly (no reflection): ``parameterNames`` and ``parameters`` have the same order,
/// and setting ``parameters`` replaces them in that order; likewise ``stateNames`` and ``state`` for tensors that are
/// not trained by gradients (batch normalisation's running statistics, PyTorch's "buffers"). Layers are value types,
/// so copying a model copies its weights (cheaply, by copy-on-write).
///
/// A layer works on batches whose first axis is the sample; ``outputShape(forInput:)`` says what it does to one
/// sample's shape (`[features]`, or `[channels, height, width]` for images).
public protocol Layer<Scalar>: Sendable, CustomStringConvertible {
    /// The element type of the layer's tensors.
    associatedtype Scalar: TensorScalar

    /// Applies the layer to a batch (the first axis is the sample).
    func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar>

    /// Applies the layer as ``callAsFunction(_:context:)`` does and, when `context` is training, updates the layer's
    /// ``state`` from the batch (batch normalisation's running statistics). The trainer calls this; layers without
    /// state use the default, which only applies the layer.
    mutating func applyUpdatingState(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar>

    /// The names of the trainable parameters, unique within the layer.
    var parameterNames: [String] { get }

    /// The trainable parameters, in the order of ``parameterNames``.
    var parameters: [Tensor<Scalar>] { get set }

    /// The names of the non-trainable state tensors, unique within the layer (none by default).
    var stateNames: [String] { get }

    /// The non-trainable state, in the order of ``stateNames``.
    var state: [Tensor<Scalar>] { get set }

    /// The layer's description for model files, or `nil` for a layer that cannot be saved.
    var specification: (any LayerSpecification)? { get }

    /// The shape of one output sample for one input sample of `shape`.
    ///
    /// The default asks ``specification``; a layer without one keeps the shape (an element-wise layer).
    /// - Throws: ``LayerShapeError`` when the layer cannot take that shape.
    func outputShape(forInput shape: [Int]) throws(LayerShapeError) -> [Int]

    /// The shape of one input sample this layer requires, when it fixes one (`Dense` fixes `[inputs]`).
    var fixedInputShape: [Int]? { get }
}

extension Layer {
    public mutating func applyUpdatingState(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        self(input, context: &context)
    }

    public var stateNames: [String] { [] }

    public var state: [Tensor<Scalar>] {
        get { [] }
        set { precondition(newValue.isEmpty, "\(self) has no state") }
    }

    public var specification: (any LayerSpecification)? { nil }

    public func outputShape(forInput shape: [Int]) throws(LayerShapeError) -> [Int] {
        guard let specification else { return shape }
        return try specification.plan(forInput: shape).outputShape
    }

    public var fixedInputShape: [Int]? { specification?.fixedInputShape }

    /// The number of input values per sample the layer requires, when it fixes its input shape.
    public var requiredInputSize: Int? { fixedInputShape.map { $0.reduce(1, *) } }

    /// The number of output values per sample, when the layer fixes its input shape.
    public var producedOutputSize: Int? {
        fixedInputShape.flatMap { try? outputShape(forInput: $0) }.map { $0.reduce(1, *) }
    }

    /// Applies the layer for inference (dropout inactive, nothing random).
    public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        var context = ForwardContext.inference
        return self(input, context: &context)
    }

    /// The number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Reads or replaces one parameter by name; `nil` when no parameter has that name.
    public func parameter(named name: String) -> Tensor<Scalar>? {
        parameterNames.firstIndex(of: name).map { parameters[$0] }
    }

    /// Replaces one parameter by name, checking the name and the shape.
    ///
    /// - Throws: ``ParameterError`` when the name is unknown or the shape differs from the current one.
    public mutating func setParameter(named name: String, to value: Tensor<Scalar>) throws {
        guard let index = parameterNames.firstIndex(of: name) else {
            throw ParameterError.unknownName(name, known: parameterNames)
        }
        guard parameters[index].shape == value.shape else {
            throw ParameterError.shapeMismatch(name, expected: parameters[index].shape, actual: value.shape)
        }
        var all = parameters
        all[index] = value
        parameters = all
    }
}

/// A problem with a parameter handed to a model from outside (a file, a user).
public enum ParameterError: Error, Equatable, CustomStringConvertible {
    /// No parameter has this name.
    case unknownName(String, known: [String])
    /// The parameter exists with another shape.
    case shapeMismatch(String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case .unknownName(let name, let known):
            "no parameter named '\(name)' (the model has: \(known.joined(separator: ", ")))"
        case .shapeMismatch(let name, let expected, let actual):
            "parameter '\(name)' has shape \(expected), the value has shape \(actual)"
        }
    }
}

/// What a forward pass needs besides its input: whether it is training, and the randomness dropout draws from.
///
/// Passed explicitly (there is no global "training mode").
public struct ForwardContext: Sendable {
    /// Whether this pass trains the model (dropout active) or runs inference.
    public var isTraining: Bool
    /// The source of randomness for dropout masks.
    public var generator: SeededGenerator

    /// Creates a context.
    public init(isTraining: Bool, generator: SeededGenerator) {
        self.isTraining = isTraining
        self.generator = generator
    }

    /// Inference: deterministic, dropout off.
    public static var inference: ForwardContext { ForwardContext(isTraining: false, generator: SeededGenerator(seed: 0)) }

    /// Training with dropout masks drawn from `generator`.
    public static func training(generator: SeededGenerator) -> ForwardContext {
        ForwardContext(isTraining: true, generator: generator)
    }
}
