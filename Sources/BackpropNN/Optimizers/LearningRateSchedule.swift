/// How the learning rate changes from epoch to epoch (epochs count from 1).
///
/// ```
/// constant                       η
/// step(every: k, factor: γ)      η · γ^⌊(epoch − 1) / k⌋
/// exponential(decay: γ)          η · γ^(epoch − 1)
/// cosine(epochs: T, minimum: m)  m + (η − m)(1 + cos(π (epoch − 1) / T)) / 2
/// warmup(epochs: w, then: s)     η · epoch / w for epoch ≤ w, then s counted from the end of warm-up
/// reduceOnPlateau(…)             η multiplied by `factor` whenever the monitored loss has not improved for
///                                `patience` epochs, never below `minimum` (see ``LearningRateScheduler``)
/// ```
public indirect enum LearningRateSchedule: Sendable, Hashable, Codable, CustomStringConvertible {
    case constant
    case step(every: Int, factor: Double)
    case exponential(decay: Double)
    case cosine(epochs: Int, minimum: Double)
    case warmup(epochs: Int, then: LearningRateSchedule)
    case reduceOnPlateau(factor: Double, patience: Int, minimum: Double)

    /// The rate for `epoch` given the base rate (plateau reductions are applied by ``LearningRateScheduler``).
    public func rate(base: Double, epoch: Int) -> Double {
        switch self {
        case .constant, .reduceOnPlateau:
            return base
        case .step(let every, let factor):
            return base * pow(factor, (epoch - 1) / Swift.max(every, 1))
        case .exponential(let decay):
            return base * pow(decay, epoch - 1)
        case .cosine(let epochs, let minimum):
            let progress: Double = Double(Swift.min(epoch - 1, epochs)) / Double(Swift.max(epochs, 1))
            let factor: Double = (1 + Double.cos(Double.pi * progress)) / 2
            return minimum + (base - minimum) * factor
        case .warmup(let epochs, let then):
            return epoch <= epochs ? base * Double(epoch) / Double(Swift.max(epochs, 1)) : then.rate(base: base, epoch: epoch - epochs)
        }
    }

    private func pow(_ x: Double, _ n: Int) -> Double { (0..<Swift.max(n, 0)).reduce(1) { r, _ in r * x } }

    public var description: String {
        switch self {
        case .constant: "constant"
        case .step(let every, let factor): "step(every \(every), ×\(factor))"
        case .exponential(let decay): "exponential(×\(decay))"
        case .cosine(let epochs, let minimum): "cosine(\(epochs) epochs, min \(minimum))"
        case .warmup(let epochs, let then): "warmup(\(epochs) epochs) then \(then)"
        case .reduceOnPlateau(let factor, let patience, _): "reduce-on-plateau(×\(factor) after \(patience))"
        }
    }
}

/// Applies a ``LearningRateSchedule`` during training, keeping the state that reduce-on-plateau needs.
public struct LearningRateScheduler: Sendable, Hashable, Codable {
    /// The schedule.
    public let schedule: LearningRateSchedule
    /// The base rate η.
    public let baseRate: Double
    /// The multiplier accumulated by plateau reductions so far.
    public private(set) var plateauScale: Double = 1
    private var bestLoss = Double.infinity
    private var epochsWithoutImprovement = 0

    /// Creates a scheduler.
    public init(schedule: LearningRateSchedule, baseRate: Double) {
        self.schedule = schedule
        self.baseRate = baseRate
    }

    /// The learning rate for `epoch`.
    public func rate(epoch: Int) -> Double {
        var rate = schedule.rate(base: baseRate, epoch: epoch) * plateauScale
        if case .reduceOnPlateau(_, _, let minimum) = schedule { rate = Swift.max(rate, minimum) }
        return rate
    }

    /// Reports the monitored loss at the end of an epoch (only reduce-on-plateau uses it).
    public mutating func observe(loss: Double) {
        guard case .reduceOnPlateau(let factor, let patience, _) = schedule else { return }
        if loss < bestLoss {
            bestLoss = loss
            epochsWithoutImprovement = 0
        } else {
            epochsWithoutImprovement += 1
            if epochsWithoutImprovement >= patience {
                plateauScale *= factor
                epochsWithoutImprovement = 0
            }
        }
    }
}

import RealModule

