import BackpropCore

/// Gradients of a model's loss over a dataset, and their check against finite differences.
public enum ModelGradients {
    /// ∂J/∂θ for every parameter, where J is the mean loss over all samples of `data` (computed in batches).
    public static func meanLossGradients<Model: Layer, Data: TrainingData>(
        of model: Model, loss: any Loss, on data: Data, batchSize: Int = 256
    ) -> [Tensor<Model.Scalar>] where Data.Scalar == Model.Scalar {
        var totals = model.parameters.map { Tensor<Model.Scalar>.zeros(like: $0) }
        var start = 0
        while start < data.count {
            let indices = Array(start..<Swift.min(start + batchSize, data.count))
            let (x, targets) = data.batch(at: indices)
            var tracked = model
            let leaves = model.parameters.map { $0.requiringGradient() }
            tracked.parameters = leaves
            let gradients = loss(tracked(x), targets, reduction: .sum).gradients(withRespectTo: leaves)
            for i in totals.indices { totals[i] = totals[i] + gradients[i] }
            start += batchSize
        }
        let n = Model.Scalar(Swift.max(data.count, 1))
        return totals.map { $0 / n }
    }

    /// Checks the engine's gradients of the mean loss on the given samples against central finite differences,
    /// per parameter (in `Double`).
    ///
    /// - Parameters:
    ///   - model: the model (in `Double`), at the weights to check.
    ///   - loss: the loss J, averaged over the samples.
    ///   - inputs: the samples.
    ///   - targets: their targets.
    ///   - elementsPerParameter: how many elements of each parameter to check (a seeded random sample).
    ///   - seed: the seed of that sample.
    public static func check<Model: Layer>(
        _ model: Model, loss: any Loss, inputs: Tensor<Double>, targets: Targets<Double>,
        elementsPerParameter: Int = 20, seed: UInt64 = 0
    ) -> [(name: String, report: GradientCheckReport.Input)] where Model.Scalar == Double {
        let report = GradientCheck.run(at: model.parameters, elementLimit: elementsPerParameter, seed: seed) { parameters in
            var copy = model
            copy.parameters = parameters
            return loss(copy(inputs), targets)
        }
        return zip(model.parameterNames, report.inputs).map { ($0, $1) }
    }
}

extension Sequential {
    /// For each ReLU-family activation layer, the fraction of its units that output zero (or less) for every
    /// sample of `inputs`: "dead" units, which pass no gradient.
    public func deadUnitFractions(on inputs: Tensor<Scalar>) -> [(layer: Int, fraction: Double)] {
        var context = ForwardContext.inference
        let outputs = outputsOfEveryLayer(inputs, context: &context)
        return layers.indices.compactMap { index in
            guard let layer = layers[index] as? ActivationLayer<Scalar> else { return nil }
            switch layer.activation {
            case .relu, .leakyReLU, .elu: break
            default: return nil
            }
            let alive = (outputs[index] .> 0).sum(alongAxis: 0)
            let dead = alive.scalars.filter { $0 == 0 }.count
            return (index, Double(dead) / Double(Swift.max(alive.count, 1)))
        }
    }
}
