import BackpropCore

/// Limits gradients before the update, a standard remedy for exploding gradients.
public enum GradientClipping: Sendable, Hashable, CustomStringConvertible {
    /// Rescales all gradients together so that their global norm √(Σ‖gᵢ‖²) is at most `maximum`.
    case globalNorm(Double)
    /// Clamps every gradient element to `−maximum…maximum`.
    case value(Double)

    /// Returns the clipped gradients.
    public func apply<Scalar>(to gradients: [Tensor<Scalar>]) -> [Tensor<Scalar>] {
        switch self {
        case .globalNorm(let maximum):
            let total = gradients.reduce(0.0) { $0 + Double($1.norm) * Double($1.norm) }.squareRoot()
            guard total > maximum, total.isFinite else { return gradients }
            let scale = Scalar(maximum / total)
            return gradients.map { $0 * scale }
        case .value(let maximum):
            return gradients.map { clamp($0, lower: Scalar(-maximum), upper: Scalar(maximum)) }
        }
    }

    public var description: String {
        switch self {
        case .globalNorm(let m): "clip global norm to \(m)"
        case .value(let m): "clip values to ±\(m)"
        }
    }
}
