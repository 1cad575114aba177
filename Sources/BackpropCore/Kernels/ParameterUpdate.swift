/// One optimizer step on a parameter, applied in place in a single pass over its elements (see
/// ``Tensor/apply(_:gradient:state:)``).
///
/// The formulas (g is the gradient, θ the parameter, λ a weight decay):
/// ```
/// sgd         g ← g + λθ;  θ ← θ − η g
/// momentum    g ← g + λθ;  v ← μ v + g;  θ ← θ − η v            (Nesterov: θ ← θ − η (g + μ v))
/// adam        g ← g + λ₂θ; m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
///             θ ← θ − ηλθ − η (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)   (λ₂: L2, λ: decoupled, AdamW)
/// rmsProp     g ← g + λθ;  s ← ρ s + (1−ρ) g²;  θ ← θ − η g / (√s + ε)
/// adagrad     g ← g + λθ;  s ← s + g²;  θ ← θ − η g / (√s + ε)
/// ```
public enum ParameterUpdate: Sendable, Hashable {
    case sgd(learningRate: Double, weightDecay: Double)
    case momentum(learningRate: Double, momentum: Double, nesterov: Bool, weightDecay: Double)
    case adam(learningRate: Double, beta1: Double, beta2: Double, epsilon: Double, step: Int,
              l2: Double, decoupledDecay: Double)
    case rmsProp(learningRate: Double, rho: Double, epsilon: Double, weightDecay: Double)
    case adagrad(learningRate: Double, epsilon: Double, weightDecay: Double)

    /// How many state tensors of the parameter's shape the update reads and writes.
    public var stateCount: Int {
        switch self {
        case .sgd: 0
        case .momentum, .rmsProp, .adagrad: 1
        case .adam: 2
        }
    }
}

enum ParameterUpdates {
    static func apply<S: TensorScalar>(
        _ update: ParameterUpdate, _ p: UnsafeMutablePointer<S>, _ g: UnsafePointer<S>,
        _ s0: UnsafeMutablePointer<S>?, _ s1: UnsafeMutablePointer<S>?, count n: Int
    ) {
        switch update {
        case .sgd(let rate, let decay):
            let eta = S(rate), lambda = S(decay)
            if decay == 0 {
                for i in 0..<n { p[i] -= eta * g[i] }
            } else {
                for i in 0..<n { p[i] -= eta * (g[i] + lambda * p[i]) }
            }
        case .momentum(let rate, let momentum, let nesterov, let decay):
            let eta = S(rate), mu = S(momentum), lambda = S(decay), v = s0!
            for i in 0..<n {
                let gi = g[i] + lambda * p[i]
                let vi = mu * v[i] + gi
                v[i] = vi
                p[i] -= eta * (nesterov ? gi + mu * vi : vi)
            }
        case .adam(let rate, let beta1, let beta2, let epsilon, let step, let l2, let decoupled):
            let b1 = S(beta1), b2 = S(beta2), eps = S(epsilon), lambda2 = S(l2)
            let t = Double(step)
            let stepSize = S(rate / (1 - Double.pow(beta1, t)))
            let inverseCorrection2 = S(1 / (1 - Double.pow(beta2, t)))
            let shrink = S(rate * decoupled)
            let m = s0!, v = s1!
            for i in 0..<n {
                let gi = g[i] + lambda2 * p[i]
                let mi = b1 * m[i] + (1 - b1) * gi
                let vi = b2 * v[i] + (1 - b2) * gi * gi
                m[i] = mi
                v[i] = vi
                p[i] = p[i] - shrink * p[i] - stepSize * mi / ((vi * inverseCorrection2).squareRoot() + eps)
            }
        case .rmsProp(let rate, let rho, let epsilon, let decay):
            let eta = S(rate), r = S(rho), eps = S(epsilon), lambda = S(decay), s = s0!
            for i in 0..<n {
                let gi = g[i] + lambda * p[i]
                let si = r * s[i] + (1 - r) * gi * gi
                s[i] = si
                p[i] -= eta * gi / (si.squareRoot() + eps)
            }
        case .adagrad(let rate, let epsilon, let decay):
            let eta = S(rate), eps = S(epsilon), lambda = S(decay), s = s0!
            for i in 0..<n {
                let gi = g[i] + lambda * p[i]
                let si = s[i] + gi * gi
                s[i] = si
                p[i] -= eta * gi / (si.squareRoot() + eps)
            }
        }
    }
}

extension Tensor {
    /// Applies one optimizer step to this tensor in place, updating the optimizer's `state` tensors in place too.
    ///
    /// One pass over memory and no allocation when this tensor and the state tensors are not shared.
    ///
    /// - Precondition: `gradient` and every state tensor have this tensor's shape, and there are
    ///   `update.stateCount` state tensors.
    public mutating func apply(_ update: ParameterUpdate, gradient: Tensor, state: inout [Tensor]) {
        precondition(gradient.shape == shape, "apply(_:gradient:state:): gradient \(gradient.shape) differs from parameter \(shape)")
        precondition(state.count == update.stateCount && state.allSatisfy { $0.shape == shape },
                     "apply(_:gradient:state:): \(update) needs \(update.stateCount) state tensors of shape \(shape)")
        let n = count
        withUnsafeMutablePointer { p in
            switch state.count {
            case 0:
                Scalar.applyUpdate(update, p, gradient.storage.pointer, nil, nil, count: n)
            case 1:
                state[0].withUnsafeMutablePointer { s0 in
                    Scalar.applyUpdate(update, p, gradient.storage.pointer, s0, nil, count: n)
                }
            default:
                var first = state[0], second = state[1]
                state = []  // leave the state tensors uniquely referenced by the locals, so nothing is copied
                first.withUnsafeMutablePointer { s0 in
                    second.withUnsafeMutablePointer { s1 in
                        Scalar.applyUpdate(update, p, gradient.storage.pointer, s0, s1, count: n)
                    }
                }
                state = [first, second]
            }
        }
    }

    /// Overwrites this tensor's elements with `other`'s, reusing this tensor's storage when it is not shared.
    ///
    /// - Precondition: both hold the same number of elements.
    public mutating func copyElements(from other: Tensor) {
        precondition(count == other.count, "copyElements(from:): \(other.count) elements into \(count)")
        shape = other.shape
        withUnsafeMutablePointer { $0.update(from: other.storage.pointer, count: other.count) }
    }
}
