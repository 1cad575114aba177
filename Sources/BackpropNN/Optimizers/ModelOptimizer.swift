import BackpropCore

/// An optimizer rule with the state it keeps for one model's parameters: what a training loop of your own updates
/// the model with.
///
/// ```swift
/// var optimizer = ModelOptimizer(Adam(learningRate: 1e-3), for: model)
/// optimizer.update(&model, along: gradients)
/// ```
/// Updates alternate between the model's weights and a second set of buffers (as the trainer's do), so a step
/// allocates nothing once the model holds no other reference to its weights.
public struct ModelOptimizer<Scalar: TensorScalar>: Sendable {
    /// The rule, with its learning rate and schedule.
    public var rule: any Optimizer
    /// The rule's state for each parameter, in the model's order.
    public var states: [ParameterState<Scalar>]
    /// The epoch the schedule is at (from 1); advance it as your loop starts each epoch.
    public var epoch = 1
    private var spare: [Tensor<Scalar>]

    /// Fresh state for `model`'s parameters.
    public init(_ rule: any Optimizer, for model: some Layer<Scalar>) {
        self.rule = rule
        states = model.parameters.map { rule.makeState(for: $0) }
        spare = model.parameters.map { Tensor.zeros(like: $0) }
    }

    /// The learning rate of the current ``epoch``.
    public var learningRate: Double { rule.schedule.rate(base: rule.learningRate, epoch: epoch) }

    /// Applies one update to every parameter of `model` along `gradients`.
    public mutating func update<Model: Layer>(_ model: inout Model, along gradients: Gradients<Scalar>) where Model.Scalar == Scalar {
        let parameters = model.parameters
        precondition(parameters.count == states.count && gradients.tensors.count == parameters.count,
                     "ModelOptimizer: \(gradients.tensors.count) gradients for \(parameters.count) parameters (\(states.count) states)")
        let rate = learningRate
        for i in parameters.indices {
            precondition(gradients.tensors[i].shape == parameters[i].shape,
                         "ModelOptimizer: the gradient of \(gradients.names[i]) has shape \(gradients.tensors[i].shape), the parameter \(parameters[i].shape)")
            rule.update(parameters[i], into: &spare[i], gradient: gradients.tensors[i], state: &states[i], learningRate: rate)
        }
        model.parameters = spare
        spare = parameters
    }
}
