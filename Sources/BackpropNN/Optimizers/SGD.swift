import BackpropCore

/// Stochastic gradient descent, optionally with (Nesterov) momentum and L2 regularisation.
///
/// With g = ∂J/∂θ + λθ (λ = `weightDecay`, the gradient of the L2 penalty ½λ‖θ‖²):
/// ```
/// plain       θ ← θ − η g
/// momentum    v ← μ v + g;     θ ← θ − η v
/// nesterov    v ← μ v + g;     θ ← θ − η (g + μ v)
/// ```
public struct SGD: ElementwiseOptimizer {
    /// The base learning rate η (default 0.01).
    public var learningRate: Double
    /// How η changes from epoch to epoch.
    public var schedule: LearningRateSchedule
    /// μ; 0 is plain gradient descent.
    public var momentum: Double
    /// Use Nesterov's look-ahead form of momentum.
    public var nesterov: Bool
    /// λ of the L2 penalty added to the gradient.
    public var weightDecay: Double

    /// Creates the rule.
    public init(learningRate: Double = 0.01, momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0,
                schedule: LearningRateSchedule = .constant) {
        precondition(learningRate >= 0 && learningRate.isFinite, "SGD: the learning rate must be a finite number, 0 or more, got \(learningRate)")
        self.learningRate = learningRate
        self.schedule = schedule
        precondition(momentum >= 0 && momentum < 1, "SGD: momentum \(momentum) must be in 0..<1")
        precondition(!nesterov || momentum > 0, "SGD: Nesterov momentum needs momentum > 0")
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    public var stateNames: [String] { momentum > 0 ? ["velocity"] : [] }

    public func parameterUpdate(step _: Int, learningRate: Double) -> ParameterUpdate {
        momentum > 0
            ? .momentum(learningRate: learningRate, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
            : .sgd(learningRate: learningRate, weightDecay: weightDecay)
    }

    public var description: String {
        momentum == 0 ? "SGD" : "SGD(momentum \(momentum)\(nesterov ? ", Nesterov" : ""))"
    }
}
