import BackpropCore

/// An update rule: immutable hyperparameters that turn a gradient into a parameter update, given that parameter's
/// ``ParameterState``.
///
/// The rule holds no per-parameter data; the trainer keeps one ``ParameterState`` per parameter and passes it in,
/// so the complete optimizer state can be saved and restored exactly.
public protocol Optimizer: Sendable, CustomStringConvertible {
    /// The names of the state tensors the rule keeps per parameter (e.g. `["m", "v"]` for Adam).
    var stateNames: [String] { get }

    /// Applies one update to `parameter` in place.
    ///
    /// - Parameters:
    ///   - gradient: ∂J/∂parameter for the current batch (after any clipping).
    ///   - state: this parameter's state; ``ParameterState/step`` counts the updates made so far.
    ///   - learningRate: η for this step (the schedule's current value).
    func update<Scalar>(_ parameter: inout Tensor<Scalar>, gradient: Tensor<Scalar>,
                        state: inout ParameterState<Scalar>, learningRate: Double)
}

extension Optimizer {
    /// Fresh state for a parameter: zero tensors of its shape, step 0.
    public func makeState<Scalar>(for parameter: Tensor<Scalar>) -> ParameterState<Scalar> {
        ParameterState(step: 0, tensors: stateNames.map { _ in Tensor.zeros(like: parameter) })
    }
}

/// The optimizer's memory for one parameter: the number of updates made, and the rule's state tensors in the order
/// of ``Optimizer/stateNames``.
public struct ParameterState<Scalar: TensorScalar>: Sendable, Equatable {
    /// Updates made so far.
    public var step: Int
    /// The state tensors (velocities, moment estimates, accumulators).
    public var tensors: [Tensor<Scalar>]

    /// Creates a state.
    public init(step: Int, tensors: [Tensor<Scalar>]) {
        self.step = step
        self.tensors = tensors
    }
}
