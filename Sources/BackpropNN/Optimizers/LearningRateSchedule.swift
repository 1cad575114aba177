/// How the learning rate changes from epoch to epoch (epochs count from 1).
///
/// ```
/// constant                       η
/// step(every: k, factor: γ)      η · γ^⌊(epoch − 1) / k⌋
/// exponential(decay: γ)          η · γ^(epoch − 1)
/// cosine(epochs: T, minimum: m)  m + (η − m)(1 + cos(π (epoch − 1) / T)) / 2
/// warmup(epochs: w, then: s)     η · epoch / w for epoch ≤ w, then s counted from the end of warm-up
/// ```
/// Rates that depend on how training goes (reduce on a plateau) are callbacks: ``ReduceLearningRateOnPlateau``.
public indirect enum LearningRateSchedule: Sendable, Hashable, Codable, CustomStringConvertible {
    /// η every epoch.
    case constant
    /// η · factor^⌊(epoch − 1) / every⌋.
    case step(every: Int, factor: Double)
    /// η · decay^(epoch − 1).
    case exponential(decay: Double)
    /// From η down to `minimum` along half a cosine over `epochs` epochs.
    case cosine(epochs: Int, minimum: Double)
    /// η · epoch / `epochs` during warm-up, then `then` counted from its end.
    case warmup(epochs: Int, then: LearningRateSchedule)

    /// The rate for `epoch` given the base rate.
    public func rate(base: Double, epoch: Int) -> Double {
        switch self {
        case .constant:
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
        }
    }
}

/// The learning rate of a training run: the optimizer's schedule from its base rate, times a factor that callbacks
/// change (``ReduceLearningRateOnPlateau``, ``LearningRateState``), with reduce-on-plateau's memory. Saved in
/// checkpoints, so that a resumed run continues with the same rate.
public struct LearningRateState: Sendable, Hashable, Codable {
    /// The schedule.
    public let schedule: LearningRateSchedule
    /// The base rate η.
    public let baseRate: Double
    /// The factor callbacks have applied to the scheduled rate (1 at the start).
    public var scale: Double = 1
    /// The best loss reduce-on-plateau has seen.
    public var bestLoss = Double.infinity
    /// Epochs since reduce-on-plateau last saw the loss improve.
    public var epochsWithoutImprovement = 0

    /// Starts a run at the optimizer's rate and schedule.
    public init(schedule: LearningRateSchedule, baseRate: Double) {
        self.schedule = schedule
        self.baseRate = baseRate
    }

    /// The learning rate for `epoch`.
    public func rate(epoch: Int) -> Double {
        schedule.rate(base: baseRate, epoch: epoch) * scale
    }

    // The names of the first checkpoint format, so that its files resume.
    private enum CodingKeys: String, CodingKey {
        case schedule, baseRate, scale = "plateauScale", bestLoss, epochsWithoutImprovement
    }
}

import RealModule

