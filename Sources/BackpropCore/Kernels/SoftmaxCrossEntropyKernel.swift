/// Softmax + cross-entropy against class labels, forward and backward in one pass over each row of logits.
///
/// The rule is the graph's (`Autodiff/Derivatives.swift`, `softmaxCrossEntropy`): with ŷ = softmax(z) and the
/// target row y (one-hot, or `(1 − ε)·one-hot + ε/classes` with label smoothing ε),
/// ```
/// J = Σ over rows of  logsumexp(z) − Σₖ yₖ zₖ         ∂J/∂z = ŷ − y   (times `scale`)
/// ```
enum SoftmaxCrossEntropyKernel {
    /// Writes `scale · (ŷ − y)` for every row to `delta` (which may be `logits` itself) and returns the summed loss and
    /// how many rows' largest logit is their label.
    static func apply<S: TensorScalar>(
        logits: UnsafePointer<S>, labels: UnsafeBufferPointer<Int>, classes: Int, smoothing: S, scale: S,
        delta: UnsafeMutablePointer<S>
    ) -> (loss: Double, correct: Int) {
        var loss = 0.0
        var correct = 0
        let off = smoothing / S(classes)
        let on = 1 - smoothing + off
        for (r, label) in labels.enumerated() {
            precondition(label >= 0 && label < classes, "softmax cross-entropy: label \(label) outside 0..<\(classes)")
            let z = logits + r * classes
            let d = delta + r * classes
            var largest = z[0], best = 0
            for k in 1..<classes where z[k] > largest {
                largest = z[k]
                best = k
            }
            if best == label { correct += 1 }
            var sum: S = 0
            var targetDot: S = 0
            for k in 0..<classes {
                let e = S.exp(z[k] - largest)
                d[k] = e
                sum += e
                targetDot += (k == label ? on : off) * (z[k] - largest)
            }
            loss += Double(S.log(sum) - targetDot)
            for k in 0..<classes { d[k] = (d[k] / sum - (k == label ? on : off)) * scale }
        }
        return (loss, correct)
    }
}
