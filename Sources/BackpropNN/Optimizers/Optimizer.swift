import BackpropCore

/// An update rule: hyperparameters, the learning rate η among them with its schedule, that turn a gradient into a
/// parameter update, given that parameter's ``ParameterState``.
///
/// The rule holds no per-parameter data; the trainer (or a ``ModelOptimizer`` in a loop of your own) keeps one
/// ``ParameterState`` per parameter and passes it in, so the complete optimizer state can be saved and restored
/// exactly.
public protocol Optimizer: Sendable, CustomStringConvertible {
    /// The base learning rate η.
    var learningRate: Double { get set }

    /// How η changes from epoch to epoch (``LearningRateSchedule/constant`` by default).
    var schedule: LearningRateSchedule { get set }

    /// The names of the state tensors the rule keeps per parameter (e.g. `["m", "v"]` for Adam).
    var stateNames: [String] { get }

    /// Applies one update to `parameter` in place.
    ///
    /// - Parameters:
    ///   - parameter: the weights θ, updated in place.
    ///   - gradient: ∂J/∂parameter for the current batch (after any clipping).
    ///   - state: this parameter's state; ``ParameterState/step`` counts the updates made so far.
    ///   - learningRate: η for this step (the schedule's current value).
    func update<Scalar>(_ parameter: inout Tensor<Scalar>, gradient: Tensor<Scalar>,
                        state: inout ParameterState<Scalar>, learningRate: Double)

    /// Writes `parameter` after one update into `result`, leaving `parameter` as it was.
    ///
    /// The trainer uses this form to keep the weights of the step before (it falls back to them when an update makes
    /// a weight non-finite) by alternating between two buffers instead of copying. The default copies `parameter`
    /// into `result` and updates that in place; ``ElementwiseOptimizer`` rules write the result in the same single
    /// pass as their in-place update.
    func update<Scalar>(_ parameter: Tensor<Scalar>, into result: inout Tensor<Scalar>, gradient: Tensor<Scalar>,
                        state: inout ParameterState<Scalar>, learningRate: Double)
}

extension Optimizer {
    public func update<Scalar>(_ parameter: Tensor<Scalar>, into result: inout Tensor<Scalar>, gradient: Tensor<Scalar>,
                               state: inout ParameterState<Scalar>, learningRate: Double) {
        result.copyElements(from: parameter)
        update(&result, gradient: gradient, state: &state, learningRate: learningRate)
    }

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

/// An optimizer whose step is one of the element-wise rules of `ParameterUpdate`, run in one pass over each
/// parameter by the update kernels.
///
/// A conforming rule describes its step in ``parameterUpdate(step:learningRate:)`` and gets both forms of
/// ``Optimizer/update(_:gradient:state:learningRate:)`` from it; each counts the update in ``ParameterState/step``.
public protocol ElementwiseOptimizer: Optimizer {
    /// The rule for update number `step` (1 for the first) at learning rate `learningRate`.
    func parameterUpdate(step: Int, learningRate: Double) -> ParameterUpdate
}

extension ElementwiseOptimizer {
    public func update<Scalar>(_ parameter: inout Tensor<Scalar>, gradient: Tensor<Scalar>,
                               state: inout ParameterState<Scalar>, learningRate: Double) {
        state.step += 1
        parameter.apply(parameterUpdate(step: state.step, learningRate: learningRate), gradient: gradient,
                        state: &state.tensors)
    }

    public func update<Scalar>(_ parameter: Tensor<Scalar>, into result: inout Tensor<Scalar>, gradient: Tensor<Scalar>,
                               state: inout ParameterState<Scalar>, learningRate: Double) {
        state.step += 1
        result.assign(parameter, updatedBy: parameterUpdate(step: state.step, learningRate: learningRate),
                      gradient: gradient, state: &state.tensors)
    }
}
