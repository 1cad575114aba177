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
/// State elements (v, m, s) whose magnitude falls below the smallest normal number are stored as zero. Otherwise the
/// moment of a parameter whose gradient stays zero (a dead ReLU unit) decays into the subnormal range and, because
/// rounding keeps `0.9 × smallest subnormal` at the smallest subnormal, stays there for good; x86 processors handle
/// subnormal operands in microcode, about a hundred times slower, which made Adam's update a quarter of a
/// Fashion-MNIST epoch. The step such a state contributes is below 10⁻³⁰ of the learning rate.
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
    /// Below this many elements an update runs on the calling thread alone; above, on two threads, each over half of
    /// the elements (see ``Tensor/apply(_:gradient:state:)``; the rules are element-wise, so the result is the same
    /// bit for bit).
    static let parallelThreshold = 1 << 16

    /// Applies `update` to `n` elements on the calling thread.
    static func apply<V: Lanes>(
        _ update: ParameterUpdate, _ p: UnsafeMutablePointer<V.Scalar>, _ g: UnsafePointer<V.Scalar>,
        _ s0: UnsafeMutablePointer<V.Scalar>?, _ s1: UnsafeMutablePointer<V.Scalar>?, count n: Int, lanes _: V.Type
    ) {
        typealias S = V.Scalar
        switch update {
        case .sgd(let rate, let decay):
            let eta = V(repeating: S(rate)), lambda = V(repeating: S(decay))
            lanes(p, g, nil, nil, count: n) { p, g, _, _ in p - eta * (g + lambda * p) }
        case .momentum(let rate, let momentum, let nesterov, let decay):
            let eta = V(repeating: S(rate)), mu = V(repeating: S(momentum)), lambda = V(repeating: S(decay))
            lanes(p, g, s0, nil, count: n) { p, g, v, _ in
                let gi = g + lambda * p
                v = (mu * v + gi).flushingSubnormals
                return p - eta * (nesterov ? gi + mu * v : v)
            }
        case .adam(let rate, let beta1, let beta2, let epsilon, let step, let l2, let decoupled):
            let b1 = V(repeating: S(beta1)), b2 = V(repeating: S(beta2)), eps = V(repeating: S(epsilon))
            let lambda2 = V(repeating: S(l2))
            let t = Double(step)
            let stepSize = V(repeating: S(rate / (1 - Double.pow(beta1, t))))
            let inverseCorrection2 = V(repeating: S(1 / (1 - Double.pow(beta2, t))))
            let shrink = V(repeating: S(rate * decoupled))
            lanes(p, g, s0, s1, count: n) { p, g, m, v in
                let gi = g + lambda2 * p
                m = (b1 * m + (V(repeating: 1) - b1) * gi).flushingSubnormals
                v = (b2 * v + (V(repeating: 1) - b2) * gi * gi).flushingSubnormals
                return p - shrink * p - stepSize * m / ((v * inverseCorrection2).squareRoot() + eps)
            }
        case .rmsProp(let rate, let rho, let epsilon, let decay):
            let eta = V(repeating: S(rate)), r = V(repeating: S(rho)), eps = V(repeating: S(epsilon))
            let lambda = V(repeating: S(decay))
            lanes(p, g, s0, nil, count: n) { p, g, s, _ in
                let gi = g + lambda * p
                s = (r * s + (V(repeating: 1) - r) * gi * gi).flushingSubnormals
                return p - eta * gi / (s.squareRoot() + eps)
            }
        case .adagrad(let rate, let epsilon, let decay):
            let eta = V(repeating: S(rate)), eps = V(repeating: S(epsilon)), lambda = V(repeating: S(decay))
            lanes(p, g, s0, nil, count: n) { p, g, s, _ in
                let gi = g + lambda * p
                s = s + gi * gi
                return p - eta * gi / (s.squareRoot() + eps)
            }
        }
    }

    /// Runs one update formula over eight elements at a time: `body(θ, g, &state0, &state1)` returns the new θ. The
    /// last partial group runs through the same formula with zero-padded lanes that are never stored, so each rule is
    /// written once.
    @inline(__always)
    private static func lanes<V: Lanes>(
        _ p: UnsafeMutablePointer<V.Scalar>, _ g: UnsafePointer<V.Scalar>, _ s0: UnsafeMutablePointer<V.Scalar>?,
        _ s1: UnsafeMutablePointer<V.Scalar>?, count n: Int, _ body: (V, V, inout V, inout V) -> V
    ) {
        var i = 0
        while i + V.laneCount <= n {
            var a = s0.map { V(loading: $0 + i) } ?? V()
            var b = s1.map { V(loading: $0 + i) } ?? V()
            body(V(loading: p + i), V(loading: g + i), &a, &b).store(to: p + i)
            if let s0 { a.store(to: s0 + i) }
            if let s1 { b.store(to: s1 + i) }
            i += V.laneCount
        }
        guard i < n else { return }
        var pv = V(), gv = V(), a = V(), b = V()
        for l in 0..<(n - i) {
            pv[l] = p[i + l]
            gv[l] = g[i + l]
            a[l] = s0?[i + l] ?? 0
            b[l] = s1?[i + l] ?? 0
        }
        let theta = body(pv, gv, &a, &b)
        for l in 0..<(n - i) {
            p[i + l] = theta[l]
            s0?[i + l] = a[l]
            s1?[i + l] = b[l]
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
        precondition(state.count == update.stateCount,
                     "apply(_:gradient:state:): \(update) needs \(update.stateCount) state tensors of shape \(shape)")
        for tensor in state {  // a loop, not `allSatisfy`, which allocates in unspecialised generic code
            precondition(tensor.shape == shape, "apply(_:gradient:state:): state \(tensor.shape) differs from parameter \(shape)")
        }
        let n = count
        withUnsafeMutablePointer { p in
            let g = gradient.storage.pointer
            switch state.count {
            case 0:
                UpdateParts(update: update, parameter: p, gradient: g, state0: nil, state1: nil, count: n).run()
            case 1:
                state[0].withUnsafeMutablePointer { s0 in
                    UpdateParts(update: update, parameter: p, gradient: g, state0: s0, state1: nil, count: n).run()
                }
            default:
                // Through the array's buffer, so that both elements are mutated in place, neither copied.
                state.withUnsafeMutableBufferPointer { tensors in
                    tensors[0].withUnsafeMutablePointer { s0 in
                        tensors[1].withUnsafeMutablePointer { s1 in
                            UpdateParts(update: update, parameter: p, gradient: g, state0: s0, state1: s1, count: n).run()
                        }
                    }
                }
            }
        }
    }

    /// Overwrites this tensor's elements with `other`'s, reusing this tensor's storage when it is not shared.
    ///
    /// - Precondition: both hold the same number of elements.
    public mutating func copyElements(from other: Tensor) {
        precondition(count == other.count, "copyElements(from:): \(other.count) elements into \(count)")
        shape = other.shape
        let bytes = other.count * MemoryLayout<Scalar>.stride
        withUnsafeMutablePointer { target in
            ByteCopy(source: UnsafeRawPointer(other.storage.pointer), target: UnsafeMutableRawPointer(target), count: bytes)
                .run()
        }
    }
}

/// An optimizer step over a parameter's elements, on two threads (two halves) when it is large enough.
private struct UpdateParts<Scalar: TensorScalar>: TwoPartWork {
    let update: ParameterUpdate
    let parameter: UnsafeMutablePointer<Scalar>
    let gradient: UnsafePointer<Scalar>
    let state0: UnsafeMutablePointer<Scalar>?
    let state1: UnsafeMutablePointer<Scalar>?
    let count: Int

    func run() {
        guard count >= ParameterUpdates.parallelThreshold, let helper = HelperThread.shared else {
            return Scalar.applyUpdate(update, parameter, gradient, state0, state1, count: count)
        }
        helper.run(self)
    }

    func run(part: Int) {
        let elements = range(of: part, in: count, granularity: 16)
        let start = elements.lowerBound
        Scalar.applyUpdate(update, parameter + start, gradient + start, state0.map { $0 + start },
                           state1.map { $0 + start }, count: elements.count)
    }
}

/// A memory copy, on two threads (two halves) when it is large enough to gain from it.
private struct ByteCopy: TwoPartWork {
    let source: UnsafeRawPointer
    let target: UnsafeMutableRawPointer
    let count: Int

    func run() {
        guard count >= 4 * ParameterUpdates.parallelThreshold, let helper = HelperThread.shared else {
            return target.copyMemory(from: source, byteCount: count)
        }
        helper.run(self)
    }

    func run(part: Int) {
        let bytes = range(of: part, in: count, granularity: 64)
        (target + bytes.lowerBound).copyMemory(from: source + bytes.lowerBound, byteCount: bytes.count)
    }
}
