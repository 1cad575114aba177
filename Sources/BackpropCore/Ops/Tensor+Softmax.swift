// Softmax family, all computed with the maximum subtracted first so that no exponential overflows.
// Derivative rules: Autodiff/Derivatives.swift.
extension Tensor {
    /// log Σ exp(x) along `axis`, computed as `m + log Σ exp(x − m)` with `m` the maximum.
    public func logSumExp(alongAxis axis: Int = -1, keepingDimensions: Bool = false) -> Tensor {
        let axis = Shape.normalize(axis: axis, rank: rank, op: "logSumExp")
        let value = logSumExpValues(axis: axis)
        var result = value
        if !keepingDimensions {
            var kept = shape
            kept.remove(at: axis)
            result = Tensor(storage: value.storage, shape: kept)
        }
        return Tensor.recorded(.logSumExp(axis: axis, keepingDimensions: keepingDimensions), inputs: [self], value: result)
    }

    /// softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m) along `axis`.
    public func softmax(alongAxis axis: Int = -1) -> Tensor {
        let axis = Shape.normalize(axis: axis, rank: rank, op: "softmax")
        return Tensor.recorded(.softmax(axis: axis), inputs: [self], value: softmaxValues(axis: axis))
    }

    /// log softmax(x) = x − logSumExp(x) along `axis`.
    public func logSoftmax(alongAxis axis: Int = -1) -> Tensor {
        let axis = Shape.normalize(axis: axis, rank: rank, op: "logSoftmax")
        let value = Tensor.combining(.subtract, self, logSumExpValues(axis: axis), into: shape)
        return Tensor.recorded(.logSoftmax(axis: axis), inputs: [self], value: value)
    }

    /// Kept-dimension log-sum-exp along `axis` (untracked).
    func logSumExpValues(axis: Int) -> Tensor {
        let m = reducing(.max, axis: axis)
        let shifted = Tensor.combining(.subtract, self, m, into: shape).applying(.exp)
        let sums = shifted.reducing(.sum, axis: axis).applying(.log)
        return Tensor.combining(.add, m, sums, into: m.shape)
    }

    /// Softmax along `axis` (untracked).
    func softmaxValues(axis: Int) -> Tensor {
        let m = reducing(.max, axis: axis)
        let e = Tensor.combining(.subtract, self, m, into: shape).applying(.exp)
        return Tensor.combining(.divide, e, e.reducing(.sum, axis: axis), into: shape)
    }
}

/// Softmax followed by cross-entropy, fused: `J = −Σᵢ Σₖ yᵢₖ log softmax(zᵢ)ₖ`, averaged over the rows or summed.
///
/// Its gradient with respect to the logits is the simplification the backpropagation derivation arrives at:
/// ```
/// ∂J/∂z = (softmax(z) − y) / batch        (y one-hot or any rows summing to 1)
/// ```
/// The targets are constants: no gradient flows into them.
///
/// - Parameters:
///   - logits: `[batch, classes]` scores z.
///   - targets: `[batch, classes]` target probabilities y (one-hot rows, smoothed labels or soft targets).
///   - averaged: divide by the batch size (the default) or return the sum over rows.
public func softmaxCrossEntropy<Scalar>(logits: Tensor<Scalar>, targets: Tensor<Scalar>, averaged: Bool = true) -> Tensor<Scalar> {
    precondition(logits.rank == 2 && logits.shape == targets.shape,
                 "softmaxCrossEntropy: logits \(logits.shape) and targets \(targets.shape) must be equal [batch, classes] matrices")
    let logProbabilities = Tensor.combining(.subtract, logits, logits.logSumExpValues(axis: 1), into: logits.shape)
    let total = -Tensor.combining(.multiply, targets, logProbabilities, into: logits.shape).reducing(.sum, axes: [0, 1], keepingDimensions: false).scalar
    let value = Tensor<Scalar>(averaged ? total / Scalar(Swift.max(logits.shape[0], 1)) : total)
    return Tensor.recorded(.softmaxCrossEntropy(averaged: averaged), inputs: [logits], value: value, saved: [targets])
}
