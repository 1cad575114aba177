import BackpropCore

/// Inverted dropout: while training, zeroes each element with probability `rate` and scales the survivors by
/// `1 / (1 − rate)`, so inference (which passes values through unchanged) needs no rescaling.
///
/// The mask is drawn from the ``ForwardContext``'s seeded generator, so a seed reproduces a run exactly.
public struct Dropout<Scalar: TensorScalar>: Layer {
    /// The probability of dropping an element, in `0..<1`.
    public var rate: Double

    /// Creates the layer.
    ///
    /// - Precondition: `0 <= rate < 1`.
    public init(rate: Double) {
        precondition(rate >= 0 && rate < 1, "Dropout: rate \(rate) must be in 0..<1")
        self.rate = rate
    }

    public func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        guard context.isTraining, rate > 0 else { return input }
        let keep = 1 - rate
        let mask = Tensor<Scalar>(shape: input.shape, elements: (0..<input.count).map { _ in
            context.generator.nextUnitInterval() < keep ? Scalar(1 / keep) : 0
        })
        return input * mask
    }

    public var parameterNames: [String] { [] }
    public var parameters: [Tensor<Scalar>] {
        get { [] }
        set { precondition(newValue.isEmpty, "Dropout has no parameters") }
    }

    public var specification: (any LayerSpecification)? { DropoutSpecification(rate: rate) }

    public var description: String { "Dropout(\(rate))" }
}

/// A ``Dropout`` layer in a model file: `{"type": "dropout", "rate": 0.5}`.
public struct DropoutSpecification: LayerSpecification, Equatable {
    public static var kind: String { "dropout" }
    /// The fraction of inputs zeroed in training.
    public var rate: Double

    /// Describes a dropout layer.
    public init(rate: Double) {
        self.rate = rate
    }

    public func plan(forInput shape: [Int]) throws(LayerShapeError) -> LayerPlan {
        guard rate >= 0 && rate < 1 else { throw LayerShapeError("a dropout rate must be in [0, 1), not \(rate)") }
        return LayerPlan(outputShape: shape)
    }

    public func makeLayer<Scalar: TensorScalar>(parameters: [Tensor<Scalar>], state: [Tensor<Scalar>]) -> any Layer<Scalar> {
        Dropout(rate: rate)
    }
}
