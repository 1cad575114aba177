import BackpropCore

/// One training step's forward pass, loss and backward pass on a batch — the step ``Trainer`` takes, for a training
/// loop of your own:
///
/// ```swift
/// var step = TrainingStep(model: network, loss: .softmaxCrossEntropy)
/// var optimizer = ModelOptimizer(Adam(learningRate: 1e-3), for: network)
/// var generator = SeededGenerator(seed: 42)
/// for epoch in 1...10 {
///     optimizer.epoch = epoch
///     for batch in data.batches(size: 32, seed: UInt64(epoch)) {
///         let (loss, gradients) = step.valueWithGradient(at: &network, on: batch, generator: &generator)
///         optimizer.update(&network, along: gradients)
///         losses.append(loss)
///     }
/// }
/// ```
/// The step runs the model in training mode (dropout masks drawn from the generator, batch normalisation on the
/// batch's statistics, its running statistics updated in the model). A perceptron or convolutional classifier under
/// softmax + cross-entropy runs on the fused kernels (`DenseNetworkStep`, `ConvolutionalNetworkStep`), reusing
/// its buffers from step to step; any other model or loss records the graph and walks it back. Either way the
/// values are those of the graph (the fused paths are tested against it).
public struct TrainingStep<Model: Layer> {
    /// The loss J.
    public let loss: any Loss
    /// Each class's weight in the loss (Σᵢ w_yᵢ Jᵢ / batch), or `nil` for equal weights.
    public let classWeights: [Double]?
    /// The precision of the matrix products.
    public let precision: MatrixPrecision
    let template: Model
    var fused: DenseNetworkStep<Model.Scalar>?
    var convolutional: ConvolutionalNetworkStep<Model.Scalar>?
    /// The gradient buffers of ``valueWithGradient(at:on:generator:)``.
    private var gradients: [Tensor<Model.Scalar>] = []
    private var gradientNorms: [Double] = []
    /// The state before the last graph step, for a caller that must undo a non-finite step.
    private(set) var stateBeforeStep: [Tensor<Model.Scalar>] = []

    /// Prepares the step for `model` (its architecture; the weights come with each call) under `loss`, with each
    /// sample's loss weighted by its class's entry of `classWeights` if given (the fused kernels take equal weights
    /// only, so a weighted step records the graph).
    ///
    /// bfloat16 products (`MatrixPrecision.bfloat16`) run on the fused perceptron and convolutional steps only; see
    /// ``supportsPrecision``.
    public init(model: Model, loss: any Loss, classWeights: [Double]? = nil, precision: MatrixPrecision = .float32) {
        self.loss = loss
        self.classWeights = classWeights
        self.precision = precision
        template = model
        fused = classWeights == nil ? DenseNetworkStep(model, loss: loss, precision: precision) : nil
        convolutional = fused == nil && classWeights == nil ? ConvolutionalNetworkStep(model, loss: loss, precision: precision) : nil
    }

    /// Whether the step computes its products in ``precision``: Float32 always; bfloat16 on the fused perceptron and
    /// convolutional steps (`Float` classifiers under softmax + cross-entropy with equal class weights, built from the
    /// layers those steps take; see ``isFused``).
    public var supportsPrecision: Bool {
        precision == .float32 || (isFused && Model.Scalar.self == Float.self)
    }

    /// Whether the step runs on fused kernels rather than a recorded graph.
    public var isFused: Bool { fused != nil || convolutional != nil }

    /// The mean loss on `batch` and its gradient with respect to every parameter of `model`; batch normalisation's
    /// running statistics in `model` move as training moves them.
    public mutating func valueWithGradient(
        at model: inout Model, on batch: TrainingBatch<Model.Scalar>, generator: inout SeededGenerator
    ) -> (loss: Double, gradients: Gradients<Model.Scalar>) {
        let parameters = model.parameters
        if gradients.map(\.shape) != parameters.map(\.shape) {
            gradients = parameters.map { Tensor.zeros(like: $0) }
            gradientNorms = [Double](repeating: 0, count: parameters.count)
        }
        var state = model.state
        // Taken out of `self` for the call (and put back), so that the buffers stay uniquely referenced.
        var buffers = gradients, norms = gradientNorms
        gradients = []
        gradientNorms = []
        let (value, _) = run(parameters: parameters, state: &state, batch: batch, generator: &generator,
                             gradients: &buffers, gradientNorms: &norms, classify: false)
        gradients = buffers
        gradientNorms = norms
        if !state.isEmpty { model.state = state }
        return (value, Gradients(buffers, names: model.parameterNames))
    }

    /// Forward pass, loss and backward pass on `batch` with `parameters`: the mean loss and, when `classify`, the
    /// number of correctly classified samples; the gradients and their norms are written to `gradients` and
    /// `gradientNorms`, and `state` moves as training moves it.
    mutating func run(
        parameters: [Tensor<Model.Scalar>], state: inout [Tensor<Model.Scalar>], batch: TrainingBatch<Model.Scalar>,
        generator: inout SeededGenerator, gradients: inout [Tensor<Model.Scalar>], gradientNorms: inout [Double],
        classify: Bool
    ) -> (loss: Double, correct: Int) {
        if fused != nil, case .classes(let labels) = batch.targets {
            let (sum, correct) = fused!.run(inputs: batch.inputs, labels: labels, parameters: parameters,
                                            gradients: &gradients, gradientNorms: &gradientNorms)
            return (sum / Double(Swift.max(labels.count, 1)), correct)
        }
        if convolutional != nil, case .classes(let labels) = batch.targets {
            let (sum, correct) = convolutional!.run(inputs: batch.inputs, labels: labels, parameters: parameters,
                                                    state: &state, generator: &generator,
                                                    gradients: &gradients, gradientNorms: &gradientNorms)
            return (sum / Double(Swift.max(labels.count, 1)), correct)
        }
        // The graph lives only inside this call, so the parameters are not shared when they are updated in place.
        var model = template
        let leaves = parameters.map { $0.requiringGradient() }
        model.parameters = leaves
        model.state = state
        var context = ForwardContext.training(generator: generator)
        let output = model.applyUpdatingState(batch.inputs, context: &context)
        generator = context.generator
        stateBeforeStep = state
        state = model.state
        let loss: Tensor<Model.Scalar>
        if let classWeights {
            let weights = batch.targets.classIndices.map { $0 < classWeights.count ? classWeights[$0] : 1 }
            loss = self.loss(output, batch.targets, reduction: .weightedMean(weights))
        } else {
            loss = self.loss(output, batch.targets)
        }
        let value = Double(loss.scalar)
        guard value.isFinite else { return (value, 0) }
        gradients = loss.gradients(withRespectTo: leaves)
        for i in gradients.indices { gradientNorms[i] = Double(gradients[i].norm) }
        guard classify else { return (value, 0) }
        return (value, zip(predictedClasses(output), batch.targets.classIndices).filter { $0 == $1 }.count)
    }
}

/// ∂J/∂θ for every parameter of a model, in the model's order, with the parameters' names.
public struct Gradients<Scalar: TensorScalar>: Sendable {
    /// One gradient per parameter, each of its parameter's shape.
    public var tensors: [Tensor<Scalar>]
    /// The parameters' names (`"0.weight"`).
    public let names: [String]

    /// Pairs gradients with their parameters' names.
    public init(_ tensors: [Tensor<Scalar>], names: [String]) {
        precondition(tensors.count == names.count, "Gradients: \(tensors.count) tensors for \(names.count) names")
        self.tensors = tensors
        self.names = names
    }

    /// The gradient of the parameter named `name`, or `nil`.
    public subscript(name: String) -> Tensor<Scalar>? {
        names.firstIndex(of: name).map { tensors[$0] }
    }

    /// ‖∂J/∂θ‖ over every parameter together.
    public var globalNorm: Double {
        tensors.reduce(0) { $0 + Double(($1.detached * $1.detached).sum().scalar) }.squareRoot()
    }

    /// Each parameter's ‖g − r‖ / ‖r‖ against `reference`, the same parameters' gradients computed another way (a
    /// bfloat16 step's against a Float32 one's, say), in the parameters' order; 0 where both are zero, infinity
    /// where only the reference is.
    ///
    /// - Precondition: `reference` has the same names and shapes.
    public func relativeDifferences(from reference: Gradients) -> [Double] {
        precondition(names == reference.names && tensors.map(\.shape) == reference.tensors.map(\.shape),
                     "Gradients.relativeDifferences: the reference holds other parameters")
        return zip(tensors, reference.tensors).map { mine, theirs in
            let difference = Double((mine.detached - theirs.detached).norm), scale = Double(theirs.detached.norm)
            return scale == 0 ? (difference == 0 ? 0 : .infinity) : difference / scale
        }
    }
}

/// The value of `f` at `model` and its gradient with respect to every parameter of the model, by recording `f`'s
/// graph and walking it back:
///
/// ```swift
/// let (loss, gradients) = valueWithGradient(at: model) { model in
///     SoftmaxCrossEntropy()(model(x), .classes(labels))
/// }
/// ```
/// `f` receives the model with its parameters tracked and must return a scalar. ``TrainingStep`` computes the same
/// for the standard step (a loss on a batch, in training mode) on the fused kernels where it can.
public func valueWithGradient<Model: Layer>(
    at model: Model, of f: (Model) throws -> Tensor<Model.Scalar>
) rethrows -> (value: Tensor<Model.Scalar>, gradients: Gradients<Model.Scalar>) {
    var tracked = model
    let leaves = model.parameters.map { $0.detached.requiringGradient() }
    tracked.parameters = leaves
    let value = try f(tracked)
    precondition(value.count == 1, "valueWithGradient: f must return a scalar, got shape \(value.shape)")
    return (value.detached, Gradients(value.gradients(withRespectTo: leaves), names: model.parameterNames))
}
