import BackpropCore

/// Adam (Kingma & Ba), with L2 regularisation or, as AdamW, decoupled weight decay.
///
/// ```
/// m ← β₁ m + (1 − β₁) g              v ← β₂ v + (1 − β₂) g²
/// m̂ = m / (1 − β₁ᵗ)                  v̂ = v / (1 − β₂ᵗ)
/// θ ← θ − η m̂ / (√v̂ + ε)
/// ```
/// The two kinds of weight decay differ for Adam (Loshchilov & Hutter):
/// - `.l2` adds λθ to the gradient g *before* the moments, so the penalty is rescaled by 1/√v̂ like the gradient
///   and weights with large gradients are barely decayed;
/// - `.decoupled` (AdamW) leaves the moments alone and shrinks θ ← θ − ηλθ directly, the same for every weight.
public struct Adam: ElementwiseOptimizer {
    /// The base learning rate η (default 0.001).
    public var learningRate: Double
    /// How η changes from epoch to epoch.
    public var schedule: LearningRateSchedule
    /// How weight decay is applied.
    public enum WeightDecay: Sendable, Hashable {
        /// Added to the gradient (classic L2 regularisation).
        case l2(Double)
        /// Applied to the weights directly (AdamW).
        case decoupled(Double)
    }

    /// β₁, the decay of the first-moment estimate.
    public var beta1: Double
    /// β₂, the decay of the second-moment estimate.
    public var beta2: Double
    /// ε, added to √v̂ to avoid division by zero.
    public var epsilon: Double
    /// The weight decay, if any.
    public var weightDecay: WeightDecay?

    /// Creates the rule (defaults β₁ 0.9, β₂ 0.999, ε 1e-8).
    public init(learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: WeightDecay? = nil,
                schedule: LearningRateSchedule = .constant) {
        precondition(learningRate >= 0 && learningRate.isFinite, "Adam: the learning rate must be a finite number, 0 or more, got \(learningRate)")
        self.learningRate = learningRate
        self.schedule = schedule
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// AdamW: Adam with decoupled weight decay λ (default 0.01).
    public static func adamW(learningRate: Double = 0.001, weightDecay: Double = 0.01,
                             schedule: LearningRateSchedule = .constant) -> Adam {
        Adam(learningRate: learningRate, weightDecay: .decoupled(weightDecay), schedule: schedule)
    }

    public var stateNames: [String] { ["m", "v"] }

    public func parameterUpdate(step: Int, learningRate: Double) -> ParameterUpdate {
        var l2 = 0.0, decoupled = 0.0
        switch weightDecay {
        case .l2(let lambda): l2 = lambda
        case .decoupled(let lambda): decoupled = lambda
        case nil: break
        }
        return .adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, step: step, l2: l2,
                     decoupledDecay: decoupled)
    }

    public var description: String {
        switch weightDecay {
        case .decoupled(let lambda): "AdamW(weight decay \(lambda))"
        case .l2(let lambda): "Adam(L2 \(lambda))"
        case nil: "Adam"
        }
    }
}
