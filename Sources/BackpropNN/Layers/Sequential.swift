import BackpropCore

/// Layers applied one after another: `a⁽ˡ⁾ = layerₗ(a⁽ˡ⁻¹⁾)`.
///
/// ```swift
/// var generator = SeededGenerator(seed: 1)
/// let model = Sequential<Float> {
///     Dense(inputSize: 2, outputSize: 16, initializer: .heUniform, generator: &generator)
///     ActivationLayer(.relu)
///     Dense(inputSize: 16, outputSize: 3, generator: &generator)
/// }
/// ```
/// Parameters are named `"<layer index>.<name>"`, e.g. `"0.weight"`, `"2.bias"`; state tensors likewise
/// (`"1.running_mean"`).
///
/// A model of images knows its ``inputShape`` (`[1, 28, 28]`): it then also takes batches of flat rows
/// `[batch, 784]` and views each row as an image.
public struct Sequential<Scalar: TensorScalar>: Layer {
    /// The layers, first to last.
    public var layers: [any Layer<Scalar>]
    /// The shape of one input sample, when the model fixes it; `nil` leaves it to the first layer (a dense
    /// layer's `[inputs]`).
    public var inputShape: [Int]?

    /// Creates a model from an array of layers, for samples of `inputShape` if given.
    public init(_ layers: [any Layer<Scalar>], inputShape: [Int]? = nil) {
        self.layers = layers
        self.inputShape = inputShape
    }

    /// Creates a model from a list of layers, for samples of `inputShape` if given.
    public init(inputShape: [Int]? = nil, @LayerBuilder<Scalar> _ build: () -> [any Layer<Scalar>]) {
        layers = build()
        self.inputShape = inputShape
    }

    public func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        var a = viewedAsSamples(input)
        for layer in layers { a = layer(a, context: &context) }
        return a
    }

    public mutating func applyUpdatingState(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        var a = viewedAsSamples(input)
        for index in layers.indices { a = layers[index].applyUpdatingState(a, context: &context) }
        return a
    }

    /// A batch of flat rows `[batch, n]` viewed as `[batch] + inputShape` when the model has an input shape of `n`
    /// values; any other batch unchanged.
    private func viewedAsSamples(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        guard let inputShape, inputShape.count > 1, input.rank == 2, input.shape[1] == inputShape.reduce(1, *) else {
            return input
        }
        return input.reshaped(to: [input.shape[0]] + inputShape)
    }

    /// Runs the forward pass and returns every layer's output, first to last: for a `Dense` layer that is its
    /// `z`, for the activation after it its `a`. With tracked inputs, these are the values whose gradients are
    /// the error terms δ.
    public func outputsOfEveryLayer(_ input: Tensor<Scalar>, context: inout ForwardContext) -> [Tensor<Scalar>] {
        var outputs: [Tensor<Scalar>] = []
        var a = viewedAsSamples(input)
        for layer in layers {
            a = layer(a, context: &context)
            outputs.append(a)
        }
        return outputs
    }

    /// ``inputShape``, or else the input shape of the first layer that fixes one when the layers before it keep
    /// that shape (an MLP's first dense layer, possibly behind dropout).
    public var fixedInputShape: [Int]? {
        if let inputShape { return inputShape }
        guard let first = layers.firstIndex(where: { $0.fixedInputShape != nil }), let shape = layers[first].fixedInputShape else {
            return nil
        }
        return layers[..<first].allSatisfy { (try? $0.outputShape(forInput: shape)) == shape } ? shape : nil
    }

    /// The same model with every tensor converted to another element type (gradient checks run in `Double`), or
    /// `nil` when a layer has no ``Layer/specification`` to rebuild it from.
    public func converted<Other: TensorScalar>(to: Other.Type) -> Sequential<Other>? {
        var converted: [any Layer<Other>] = []
        for layer in layers {
            guard let specification = layer.specification else { return nil }
            converted.append(specification.makeLayer(parameters: layer.parameters.map { $0.converted(to: Other.self) },
                                                     state: layer.state.map { $0.converted(to: Other.self) }))
        }
        return Sequential<Other>(converted, inputShape: inputShape)
    }

    public func outputShape(forInput shape: [Int]) throws(LayerShapeError) -> [Int] {
        var current = shape
        for (index, layer) in layers.enumerated() {
            do {
                current = try layer.outputShape(forInput: current)
            } catch {
                throw LayerShapeError("layer \(index) (\(layer)): \(error.message)")
            }
        }
        return current
    }

    /// Each layer's output shape for one sample of ``fixedInputShape``, or `nil` when the model does not fix it or a
    /// layer cannot take its input.
    public var outputShapesOfEveryLayer: [[Int]]? {
        guard var current = fixedInputShape else { return nil }
        var shapes: [[Int]] = []
        for layer in layers {
            guard let next = try? layer.outputShape(forInput: current) else { return nil }
            shapes.append(next)
            current = next
        }
        return shapes
    }

    public var parameterNames: [String] {
        layers.enumerated().flatMap { index, layer in layer.parameterNames.map { "\(index).\($0)" } }
    }

    public var parameters: [Tensor<Scalar>] {
        get { layers.flatMap { $0.parameters } }
        set {
            precondition(newValue.count == layers.reduce(0) { $0 + $1.parameters.count },
                         "Sequential.parameters: \(newValue.count) tensors for \(parameterNames.count) parameters")
            var offset = 0
            for index in layers.indices {
                let n = layers[index].parameterNames.count
                layers[index].parameters = Array(newValue[offset..<(offset + n)])
                offset += n
            }
        }
    }

    public var stateNames: [String] {
        layers.enumerated().flatMap { index, layer in layer.stateNames.map { "\(index).\($0)" } }
    }

    public var state: [Tensor<Scalar>] {
        get { layers.flatMap { $0.state } }
        set {
            precondition(newValue.count == layers.reduce(0) { $0 + $1.stateNames.count },
                         "Sequential.state: \(newValue.count) tensors for \(stateNames.count) state tensors")
            var offset = 0
            for index in layers.indices where !layers[index].stateNames.isEmpty {
                let n = layers[index].stateNames.count
                layers[index].state = Array(newValue[offset..<(offset + n)])
                offset += n
            }
        }
    }

    /// Which layer owns each parameter (its index), in the order of ``parameters``.
    public var parameterLayerIndices: [Int] {
        layers.enumerated().flatMap { index, layer in Array(repeating: index, count: layer.parameterNames.count) }
    }

    public var description: String { summary }

    /// A table of the layers, their output shapes (when the model fixes its input shape), parameter and state
    /// shapes, parameter counts, and the total.
    public var summary: String {
        var lines = ["Sequential (\(layers.count) layers\(fixedInputShape.map { ", input \($0)" } ?? ""))"]
        let shapes = outputShapesOfEveryLayer
        for (index, layer) in layers.enumerated() {
            let parameters = zip(layer.parameterNames, layer.parameters).map { "\($0) \($1.shape)" }.joined(separator: ", ")
            let state = zip(layer.stateNames, layer.state).map { "\($0) \($1.shape)" }.joined(separator: ", ")
            let detail = (parameters.isEmpty ? "" : "  \(parameters)") + (state.isEmpty ? "" : "  state \(state)")
            let output = shapes.map { "  → \($0[index])" } ?? ""
            lines.append("  \(index)  \(layer)\(output)\(detail)  params: \(layer.parameterCount)")
        }
        lines.append("  total parameters: \(parameterCount)")
        return lines.joined(separator: "\n")
    }
}

extension Sequential {
    /// A multilayer perceptron: `Dense` layers of the given sizes with `activation` between them and
    /// `outputActivation` (default: none, i.e. logits) after the last.
    ///
    /// - Parameters:
    ///   - sizes: input size, hidden sizes…, output size (at least two numbers).
    ///   - activation: the activation after each hidden layer.
    ///   - outputActivation: the activation after the last layer (`identity`: logits).
    ///   - initializer: defaults to ``Initializer/standard(for:)`` of the hidden activation.
    ///   - dropout: the rate of a ``Dropout`` layer after each hidden activation (0: none).
    ///   - seed: the seed of the initial weights.
    public static func multilayerPerceptron(
        sizes: [Int], activation: Activation, outputActivation: Activation = .identity,
        initializer: Initializer? = nil, dropout: Double = 0, seed: UInt64
    ) -> Sequential {
        precondition(sizes.count >= 2, "multilayerPerceptron: needs at least an input and an output size")
        var generator = SeededGenerator(seed: seed)
        var layers: [any Layer<Scalar>] = []
        for i in 0..<(sizes.count - 1) {
            let isLast = i == sizes.count - 2
            let nextActivation = isLast ? outputActivation : activation
            let chosen = initializer ?? Initializer.standard(for: isLast ? (outputActivation == .identity ? activation : outputActivation) : activation)
            layers.append(Dense<Scalar>(inputSize: sizes[i], outputSize: sizes[i + 1], initializer: chosen, generator: &generator))
            if nextActivation != .identity { layers.append(ActivationLayer<Scalar>(nextActivation)) }
            if !isLast && dropout > 0 { layers.append(Dropout<Scalar>(rate: dropout)) }
        }
        return Sequential(layers)
    }
}

/// Builds an array of layers from a list of statements (see ``Sequential/init(_:inputShape:)``).
@resultBuilder
public enum LayerBuilder<Scalar: TensorScalar> {
    /// One layer.
    public static func buildExpression(_ layer: any Layer<Scalar>) -> [any Layer<Scalar>] { [layer] }
    /// The statements' layers in order.
    public static func buildBlock(_ parts: [any Layer<Scalar>]...) -> [any Layer<Scalar>] { parts.flatMap { $0 } }
    /// The layers of an `if` without `else`, when it holds.
    public static func buildOptional(_ part: [any Layer<Scalar>]?) -> [any Layer<Scalar>] { part ?? [] }
    /// The layers of the first branch of an `if`/`else`.
    public static func buildEither(first: [any Layer<Scalar>]) -> [any Layer<Scalar>] { first }
    /// The layers of the second branch of an `if`/`else`.
    public static func buildEither(second: [any Layer<Scalar>]) -> [any Layer<Scalar>] { second }
    /// The layers of a `for` loop's iterations.
    public static func buildArray(_ parts: [[any Layer<Scalar>]]) -> [any Layer<Scalar>] { parts.flatMap { $0 } }
}
