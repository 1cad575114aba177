import CKernels

/// One optimizer step on a parameter, applied in a single pass over its elements, in place
/// (``Tensor/apply(_:gradient:state:)``) or into a second buffer (``Tensor/assign(_:updatedBy:gradient:state:)``).
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
/// The loops are in C, one per rule, in `Sources/CUpdateKernels/UpdateRules.h`.
///
/// State elements (v, m, s) whose magnitude falls below the smallest normal number are stored as zero. Otherwise the
/// moment of a parameter whose gradient stays zero (a dead ReLU unit) decays into the subnormal range and, because
/// rounding keeps `0.9 × smallest subnormal` at the smallest subnormal, stays there for good; x86 processors handle
/// subnormal operands in microcode, about a hundred times slower, which made Adam's update a quarter of a
/// Fashion-MNIST epoch. The step such a state contributes is below 10⁻³⁰ of the learning rate.
public enum ParameterUpdate: Sendable, Hashable {
    /// θ ← θ − η (g + λθ).
    case sgd(learningRate: Double, weightDecay: Double)
    /// v ← μv + g + λθ; θ ← θ − ηv (Nesterov: θ ← θ − η(g + λθ + μv)).
    case momentum(learningRate: Double, momentum: Double, nesterov: Bool, weightDecay: Double)
    /// Adam's moments and bias-corrected step `step`, with L2 (added to g) or decoupled decay (AdamW).
    case adam(learningRate: Double, beta1: Double, beta2: Double, epsilon: Double, step: Int,
              l2: Double, decoupledDecay: Double)
    /// s ← ρs + (1 − ρ)g²; θ ← θ − η g / (√s + ε).
    case rmsProp(learningRate: Double, rho: Double, epsilon: Double, weightDecay: Double)
    /// s ← s + g²; θ ← θ − η g / (√s + ε).
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

extension ParameterUpdate {
    /// The rule and its hyper-parameters as the C update kernels take them (`CUpdateKernels`: the loops are in C so
    /// that they are compiled for AVX2 and AVX-512 as well as for baseline x86-64).
    var kernelArguments: backprop_update {
        var u = backprop_update()
        switch self {
        case .sgd(let rate, let decay):
            (u.rule, u.rate, u.decay) = (backprop_rule_sgd, rate, decay)
        case .momentum(let rate, let momentum, let nesterov, let decay):
            u.rule = nesterov ? backprop_rule_nesterov : backprop_rule_momentum
            (u.rate, u.beta1, u.decay) = (rate, momentum, decay)
        case .adam(let rate, let beta1, let beta2, let epsilon, let step, let l2, let decoupled):
            let t = Double(step)
            u.rule = backprop_rule_adam
            (u.beta1, u.beta2, u.epsilon, u.decay) = (beta1, beta2, epsilon, l2)
            u.rate = rate / (1 - Double.pow(beta1, t))
            u.correction2 = 1 / (1 - Double.pow(beta2, t))
            u.shrink = rate * decoupled
        case .rmsProp(let rate, let rho, let epsilon, let decay):
            (u.rule, u.rate, u.beta1, u.epsilon, u.decay) = (backprop_rule_rmsprop, rate, rho, epsilon, decay)
        case .adagrad(let rate, let epsilon, let decay):
            (u.rule, u.rate, u.epsilon, u.decay) = (backprop_rule_adagrad, rate, epsilon, decay)
        }
        return u
    }
}

enum ParameterUpdates {
    /// Below this many elements an update runs on the calling thread alone; above, on two threads, each over half of
    /// the elements (see ``Tensor/apply(_:gradient:state:)``; the rules are element-wise, so the result is the same
    /// bit for bit).
    static let parallelThreshold = 1 << 16
}

extension Tensor {
    /// Applies one optimizer step to this tensor in place, updating the optimizer's `state` tensors in place too.
    ///
    /// One pass over memory and no allocation when this tensor and the state tensors are not shared.
    ///
    /// - Precondition: `gradient` and every state tensor have this tensor's shape, and there are
    ///   `update.stateCount` state tensors.
    public mutating func apply(_ update: ParameterUpdate, gradient: Tensor, state: inout [Tensor]) {
        Self.checkUpdate(update, of: shape, gradient: gradient, state: state)
        let n = count
        withUnsafeMutablePointer { p in
            Self.runUpdate(update, from: UnsafePointer(p), into: p, gradient: gradient, state: &state, count: n)
        }
    }

    /// Overwrites this tensor with `parameter` after one optimizer step, leaving `parameter` as it was; the
    /// optimizer's `state` tensors are updated in place.
    ///
    /// The result is the same, bit for bit, as `apply(_:gradient:state:)` on a copy of `parameter`, without the copy:
    /// a trainer that keeps the weights of the step before (to fall back to them) alternates between two buffers.
    ///
    /// - Precondition: this tensor has as many elements as `parameter`; `gradient` and every state tensor have
    ///   `parameter`'s shape, and there are `update.stateCount` state tensors.
    public mutating func assign(_ parameter: Tensor, updatedBy update: ParameterUpdate, gradient: Tensor,
                                state: inout [Tensor]) {
        precondition(count == parameter.count,
                     "assign(_:updatedBy:gradient:state:): \(parameter.count) elements into \(count)")
        Self.checkUpdate(update, of: parameter.shape, gradient: gradient, state: state)
        shape = parameter.shape
        let n = count
        withUnsafeMutablePointer { result in
            Self.runUpdate(update, from: parameter.storage.pointer, into: result, gradient: gradient, state: &state,
                           count: n)
        }
    }

    private static func checkUpdate(_ update: ParameterUpdate, of shape: [Int], gradient: Tensor, state: [Tensor]) {
        precondition(gradient.shape == shape,
                     "optimizer step: gradient \(gradient.shape) differs from parameter \(shape)")
        precondition(state.count == update.stateCount,
                     "optimizer step: \(update) needs \(update.stateCount) state tensors of shape \(shape)")
        for tensor in state {  // a loop, not `allSatisfy`, which allocates in unspecialised generic code
            precondition(tensor.shape == shape, "optimizer step: state \(tensor.shape) differs from parameter \(shape)")
        }
    }

    private static func runUpdate(
        _ update: ParameterUpdate, from p: UnsafePointer<Scalar>, into result: UnsafeMutablePointer<Scalar>,
        gradient: Tensor, state: inout [Tensor], count n: Int
    ) {
        let g = gradient.storage.pointer
        switch state.count {
        case 0:
            UpdateParts(update: update, parameter: p, result: result, gradient: g, state0: nil, state1: nil, count: n)
                .run()
        case 1:
            state[0].withUnsafeMutablePointer { s0 in
                UpdateParts(update: update, parameter: p, result: result, gradient: g, state0: s0, state1: nil,
                            count: n).run()
            }
        default:
            // Through the array's buffer, so that both elements are mutated in place, neither copied.
            state.withUnsafeMutableBufferPointer { tensors in
                tensors[0].withUnsafeMutablePointer { s0 in
                    tensors[1].withUnsafeMutablePointer { s1 in
                        UpdateParts(update: update, parameter: p, result: result, gradient: g, state0: s0, state1: s1,
                                    count: n).run()
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

/// An optimizer step over a parameter's elements, in one run per thread when it is large enough (each element's
/// update is computed on its own, so the split changes no bit).
private struct UpdateParts<Scalar: TensorScalar>: ParallelWork {
    let update: ParameterUpdate
    let parameter: UnsafePointer<Scalar>
    let result: UnsafeMutablePointer<Scalar>
    let gradient: UnsafePointer<Scalar>
    let state0: UnsafeMutablePointer<Scalar>?
    let state1: UnsafeMutablePointer<Scalar>?
    let count: Int
    let parts: Int

    init(update: ParameterUpdate, parameter: UnsafePointer<Scalar>, result: UnsafeMutablePointer<Scalar>, gradient: UnsafePointer<Scalar>,
         state0: UnsafeMutablePointer<Scalar>?, state1: UnsafeMutablePointer<Scalar>?, count: Int) {
        (self.update, self.parameter, self.result, self.gradient, self.state0, self.state1, self.count) =
            (update, parameter, result, gradient, state0, state1, count)
        parts = Parallelism.pool.elementwiseParts(count: count, minimum: ParameterUpdates.parallelThreshold / 2)
    }

    func run() {
        Parallelism.pool.run(self)
    }

    func run(part: Int) {
        let elements = range(of: part, in: count, granularity: 16)
        let start = elements.lowerBound
        Scalar.applyUpdate(update, parameter + start, result + start, gradient + start, state0.map { $0 + start },
                           state1.map { $0 + start }, count: elements.count)
    }
}

/// A memory copy, in one run per thread when it is large enough to gain from it.
private struct ByteCopy: ParallelWork {
    let source: UnsafeRawPointer
    let target: UnsafeMutableRawPointer
    let count: Int
    let parts: Int

    init(source: UnsafeRawPointer, target: UnsafeMutableRawPointer, count: Int) {
        (self.source, self.target, self.count) = (source, target, count)
        parts = Parallelism.pool.elementwiseParts(count: count, minimum: 2 * ParameterUpdates.parallelThreshold)
    }

    func run() {
        Parallelism.pool.run(self)
    }

    func run(part: Int) {
        let bytes = range(of: part, in: count, granularity: 64)
        (target + bytes.lowerBound).copyMemory(from: source + bytes.lowerBound, byteCount: bytes.count)
    }
}
