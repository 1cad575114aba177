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
/// Parameters are named `"<layer index>.<name>"`, e.g. `"0.weight"`, `"2.bias"`.
public struct Sequential<Scalar: TensorScalar>: Layer {
    /// The layers, first to last.
    public var layers: [any Layer<Scalar>]

    /// Creates a model from an array of layers.
    public init(_ layers: [any Layer<Scalar>]) {
        self.layers = layers
    }

    /// Creates a model from a list of layers.
    public init(@LayerBuilder<Scalar> _ build: () -> [any Layer<Scalar>]) {
        layers = build()
    }

    public func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        var a = input
        for layer in layers { a = layer(a, context: &context) }
        return a
    }

    /// Runs the forward pass and returns every layer's output, first to last: for a `Dense` layer that is its
    /// `z`, for the activation after it its `a`. With tracked inputs, these are the values whose gradients are
    /// the error terms δ.
    public func outputsOfEveryLayer(_ input: Tensor<Scalar>, context: inout ForwardContext) -> [Tensor<Scalar>] {
        var outputs: [Tensor<Scalar>] = []
        var a = input
        for layer in layers {
            a = layer(a, context: &context)
            outputs.append(a)
        }
        return outputs
    }

    public var requiredInputSize: Int? { layers.lazy.compactMap { $0.requiredInputSize }.first }
    public var producedOutputSize: Int? { layers.reversed().lazy.compactMap { $0.producedOutputSize }.first }

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

    /// Which layer owns each parameter (its index), in the order of ``parameters``.
    public var parameterLayerIndices: [Int] {
        layers.enumerated().flatMap { index, layer in Array(repeating: index, count: layer.parameterNames.count) }
    }

    public var description: String { summary }

    /// A table of the layers, their parameter shapes and counts, and the total.
    public var summary: String {
        var lines = ["Sequential (\(layers.count) layers)"]
        for (index, layer) in layers.enumerated() {
            let shapes = zip(layer.parameterNames, layer.parameters).map { "\($0) \($1.shape)" }.joined(separator: ", ")
            let detail = shapes.isEmpty ? "" : "  \(shapes)"
            lines.append("  \(index)  \(layer)\(detail)  params: \(layer.parameterCount)")
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
    ///   - initializer: defaults to ``Initializer/standard(for:)`` of the hidden activation.
    public static func multilayerPerceptron(
        sizes: [Int], activation: Activation, outputActivation: Activation = .identity,
        initializer: Initializer? = nil, seed: UInt64
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
        }
        return Sequential(layers)
    }
}

/// Builds an array of layers from a list of statements (see ``Sequential/init(_:)-``).
@resultBuilder
public enum LayerBuilder<Scalar: TensorScalar> {
    public static func buildExpression(_ layer: any Layer<Scalar>) -> [any Layer<Scalar>] { [layer] }
    public static func buildBlock(_ parts: [any Layer<Scalar>]...) -> [any Layer<Scalar>] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [any Layer<Scalar>]?) -> [any Layer<Scalar>] { part ?? [] }
    public static func buildEither(first: [any Layer<Scalar>]) -> [any Layer<Scalar>] { first }
    public static func buildEither(second: [any Layer<Scalar>]) -> [any Layer<Scalar>] { second }
    public static func buildArray(_ parts: [[any Layer<Scalar>]]) -> [any Layer<Scalar>] { parts.flatMap { $0 } }
}
