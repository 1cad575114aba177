/// Watches per-layer gradient norms epoch by epoch and warns about vanishing and exploding gradients.
///
/// - Vanishing: a weight's gradient norm stays below `vanishingRatio` (10⁻⁴) of the largest weight gradient for
///   `patience` (3) consecutive epochs — the early layers of a deep sigmoid network learn almost nothing.
/// - Exploding: a weight's gradient norm grows by more than `explodingGrowth` (100×) from one epoch to the next,
///   or is not finite.
public struct GradientHealthMonitor: Sendable {
    /// A warning about one parameter.
    public struct Warning: Sendable, Equatable, CustomStringConvertible {
        /// What went wrong.
        public enum Kind: String, Sendable {
            /// The gradient norm fell far below its earlier size.
            case vanishing
            /// The gradient norm grew far beyond its earlier size.
            case exploding
        }
        /// What went wrong.
        public var kind: Kind
        /// The parameter's name (`"0.weight"`).
        public var parameter: String
        /// The epoch the warning was raised in.
        public var epoch: Int
        /// The numbers behind the warning.
        public var detail: String

        public var description: String {
            switch kind {
            case .vanishing:
                "warning: vanishing gradient in \(parameter) (epoch \(epoch)): \(detail). Remedies: ReLU-family activations, He initialisation, fewer layers, batch-wise normalisation of inputs"
            case .exploding:
                "warning: exploding gradient in \(parameter) (epoch \(epoch)): \(detail). Remedies: a smaller learning rate, gradient clipping (--clip-norm), He/Glorot initialisation"
            }
        }
    }

    /// A gradient norm below this fraction of the largest counts as vanishing.
    public var vanishingRatio = 1e-4
    /// Growth by more than this factor in one epoch counts as exploding.
    public var explodingGrowth = 100.0
    /// Consecutive vanishing epochs before warning.
    public var patience = 3
    private var smallStreak: [String: Int] = [:]
    private var previous: [String: Double] = [:]
    private var warned: Set<String> = []

    /// A monitor with the default thresholds.
    public init() {}

    /// Reads one epoch's report and returns the warnings it raises (each parameter warns once per kind).
    public mutating func observe(_ report: EpochReport) -> [Warning] {
        let weights = report.parameterHealth.filter { $0.name.hasSuffix("weight") }
        let largest = weights.map(\.gradientNorm).filter(\.isFinite).max() ?? 0
        var warnings: [Warning] = []
        for health in weights {
            let name = health.name
            if !health.gradientNorm.isFinite || (previous[name].map { $0 > 0 && health.gradientNorm > explodingGrowth * $0 } ?? false) {
                if warned.insert("exploding " + name).inserted {
                    warnings.append(Warning(kind: .exploding, parameter: name, epoch: report.epoch,
                                            detail: "‖∂J/∂W‖ went from \(previous[name] ?? 0) to \(health.gradientNorm)"))
                }
            }
            if largest > 0 && health.gradientNorm < vanishingRatio * largest {
                smallStreak[name, default: 0] += 1
                if smallStreak[name]! >= patience && warned.insert("vanishing " + name).inserted {
                    warnings.append(Warning(kind: .vanishing, parameter: name, epoch: report.epoch,
                                            detail: "‖∂J/∂W‖ = \(health.gradientNorm), below \(vanishingRatio) × the largest layer's \(largest) for \(patience) epochs"))
                }
            } else {
                smallStreak[name] = 0
            }
            previous[name] = health.gradientNorm
        }
        return warnings
    }
}
