import BackpropCore

/// A loss that is a sum over the output units of a per-unit term: `J = Σₖ ℓ(aₖ, yₖ)` per sample.
///
/// A conforming type gives only ``elementLoss(_:_:)``; the batch's loss sums those terms over the whole batch in one
/// reduction (so the graph that ``BackpropTrace`` and `--graph` show has a single sum), and the per-sample losses
/// sum them along the units. Targets arrive as a tensor of the output's shape (class indices as one-hot rows, or a
/// column of 0/1 labels for one output).
public protocol ElementwiseLoss: Loss {
    /// The per-unit terms ℓ(aₖ, yₖ), same shape as `output`.
    func elementLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Tensor<Scalar>) -> Tensor<Scalar>
}

extension ElementwiseLoss {
    public func perSampleLoss<Scalar>(_ output: Tensor<Scalar>, _ targets: Targets<Scalar>) -> Tensor<Scalar> {
        elementLoss(output, denseTargets(targets, like: output)).sum(alongAxis: 1)
    }

    public func callAsFunction<Scalar>(
        _ output: Tensor<Scalar>, _ targets: Targets<Scalar>, reduction: LossReduction
    ) -> Tensor<Scalar> {
        let batch = Scalar(Swift.max(output.shape.first ?? 0, 1))
        switch reduction {
        case .mean: return elementLoss(output, denseTargets(targets, like: output)).sum() / batch
        case .sum: return elementLoss(output, denseTargets(targets, like: output)).sum()
        case .weightedMean(let weights):
            precondition(weights.count == output.shape[0], "\(self): \(weights.count) sample weights for \(output.shape[0]) samples")
            let w = Tensor<Scalar>(shape: [weights.count], elements: weights.map { Scalar($0) })
            return (perSampleLoss(output, targets) * w).sum() / batch
        }
    }

    /// The targets as a tensor of `output`'s shape.
    private func denseTargets<Scalar>(_ targets: Targets<Scalar>, like output: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(output.rank == 2, "\(self): output must be [batch, outputs], got \(output.shape)")
        let y = targets.dense(classCount: output.shape[1])
        precondition(y.shape == output.shape, "\(self): targets \(y.shape) do not match output \(output.shape)")
        return y
    }
}
