import BackpropCore

/// A model's loss and, for classification, accuracy on a dataset.
public struct Evaluation: Sendable, Equatable, CustomStringConvertible {
    /// The mean loss per sample.
    public var loss: Double
    /// The fraction of samples classified correctly (classification data only).
    public var accuracy: Double?

    /// Records an evaluation.
    public init(loss: Double, accuracy: Double?) {
        self.loss = loss
        self.accuracy = accuracy
    }

    /// `loss 0.0412, accuracy 98.75 %`.
    public var description: String {
        "loss \(loss)" + (accuracy.map { ", accuracy \((($0 * 10_000).rounded() / 100)) %" } ?? "")
    }
}

extension Layer {
    /// The loss and (for classification data) accuracy of the model on `data`, computed in batches for inference
    /// (dropout off, batch normalisation on its running statistics), recording no graph.
    ///
    /// A convolutional classifier is evaluated on the buffers of its fused step (`ConvolutionalNetworkStep`), which
    /// computes the same values as the graph to rounding.
    public func evaluate<Data: TrainingData>(on data: Data, loss: any Loss, batchSize: Int = 256) -> Evaluation
    where Data.Scalar == Scalar {
        precondition(batchSize > 0, "evaluate: the batch size must be positive, got \(batchSize)")
        if data.classCount != nil, var step = ConvolutionalNetworkStep(self, loss: loss) {
            return step.evaluate(on: data, parameters: parameters, state: state, batchSize: batchSize)
        }
        var totalLoss = 0.0
        var correct = 0
        var start = 0
        while start < data.count {
            let indices = Array(start..<Swift.min(start + batchSize, data.count))
            let (x, targets) = data.batch(at: indices)
            let output = self(x)
            totalLoss += Double(loss(output, targets, reduction: .sum).scalar)
            if data.classCount != nil {
                correct += zip(predictedClasses(output), targets.classIndices).filter { $0 == $1 }.count
            }
            start += batchSize
        }
        let n = Double(Swift.max(data.count, 1))
        return Evaluation(loss: totalLoss / n, accuracy: data.classCount == nil ? nil : Double(correct) / n)
    }
}

extension ConvolutionalNetworkStep {
    /// The loss and accuracy of a classifier on `data` through this step's inference pass.
    mutating func evaluate<Data: TrainingData>(
        on data: Data, parameters: [Tensor<Scalar>], state: [Tensor<Scalar>], batchSize: Int
    ) -> Evaluation where Data.Scalar == Scalar {
        var batch = TrainingBatch<Scalar>()
        var totalLoss = 0.0
        var correct = 0
        var start = 0
        while start < data.count {
            data.fill(&batch, at: Array(start..<Swift.min(start + batchSize, data.count))[...])
            guard case .classes(let labels) = batch.targets else { break }
            let result = evaluate(inputs: batch.inputs, labels: labels, parameters: parameters, state: state)
            totalLoss += result.loss
            correct += result.correct
            start += batchSize
        }
        let n = Double(Swift.max(data.count, 1))
        return Evaluation(loss: totalLoss / n, accuracy: Double(correct) / n)
    }
}
