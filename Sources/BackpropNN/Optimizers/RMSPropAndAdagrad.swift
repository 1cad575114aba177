import BackpropCore

/// RMSProp: divides the gradient by a running root-mean-square of recent gradients.
///
/// ```
/// s ← ρ s + (1 − ρ) g²;     θ ← θ − η g / (√s + ε)         (g includes λθ when weightDecay is set)
/// ```
public struct RMSProp: ElementwiseOptimizer {
    /// The base learning rate η (default 0.001).
    public var learningRate: Double
    /// How η changes from epoch to epoch.
    public var schedule: LearningRateSchedule
    /// ρ, the decay of the squared-gradient average.
    public var rho: Double
    /// ε, added to √s.
    public var epsilon: Double
    /// λ of the L2 penalty added to the gradient.
    public var weightDecay: Double

    /// Creates the rule (defaults ρ 0.9, ε 1e-8).
    public init(learningRate: Double = 0.001, rho: Double = 0.9, epsilon: Double = 1e-8, weightDecay: Double = 0,
                schedule: LearningRateSchedule = .constant) {
        precondition(learningRate >= 0 && learningRate.isFinite, "RMSProp: the learning rate must be a finite number, 0 or more, got \(learningRate)")
        self.learningRate = learningRate
        self.schedule = schedule
        self.rho = rho
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public var stateNames: [String] { ["meanSquare"] }

    public func parameterUpdate(step _: Int, learningRate: Double) -> ParameterUpdate {
        .rmsProp(learningRate: learningRate, rho: rho, epsilon: epsilon, weightDecay: weightDecay)
    }

    public var description: String { "RMSProp(ρ \(rho))" }
}

/// Adagrad: scales each weight's step by the inverse root of its accumulated squared gradients.
///
/// ```
/// s ← s + g²;     θ ← θ − η g / (√s + ε)                   (g includes λθ when weightDecay is set)
/// ```
public struct Adagrad: ElementwiseOptimizer {
    /// The base learning rate η (default 0.01).
    public var learningRate: Double
    /// How η changes from epoch to epoch.
    public var schedule: LearningRateSchedule
    /// ε, added to √s.
    public var epsilon: Double
    /// λ of the L2 penalty added to the gradient.
    public var weightDecay: Double

    /// Creates the rule (default ε 1e-10).
    public init(learningRate: Double = 0.01, epsilon: Double = 1e-10, weightDecay: Double = 0,
                schedule: LearningRateSchedule = .constant) {
        precondition(learningRate >= 0 && learningRate.isFinite, "Adagrad: the learning rate must be a finite number, 0 or more, got \(learningRate)")
        self.learningRate = learningRate
        self.schedule = schedule
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public var stateNames: [String] { ["sumOfSquares"] }

    public func parameterUpdate(step _: Int, learningRate: Double) -> ParameterUpdate {
        .adagrad(learningRate: learningRate, epsilon: epsilon, weightDecay: weightDecay)
    }

    public var description: String { "Adagrad" }
}
