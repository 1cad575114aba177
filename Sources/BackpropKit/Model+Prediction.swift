/// What a model predicts for a batch of samples.
public struct Prediction<Scalar: TensorScalar>: Sendable {
    /// The network's raw outputs, `[samples, outputs]` (logits for a classifier; for regression, in the target's
    /// units).
    public var outputs: Tensor<Scalar>
    /// The class probabilities, `[samples, classes]` (classification only).
    public var probabilities: Tensor<Scalar>?
    /// The predicted class of each sample (classification only).
    public var classes: [Int]?
    /// The name of each sample's predicted class (classification only).
    public var classNames: [String]?
}

extension Model {
    /// Runs the network for inference (dropout off, batch normalisation on its running statistics) on `inputs`,
    /// `[samples, features]` or `[samples] + inputShape`, given as the data the model was trained on was given
    /// (a loaded model's feature scaling is applied to them first).
    ///
    /// - Throws: ``PredictionError`` when the inputs do not have the shape the network takes.
    public func predict(_ inputs: Tensor<Scalar>) throws -> Prediction<Scalar> {
        guard inputs.rank >= 2 else { throw PredictionError.shape(inputs.shape, expected: expectedShape) }
        if let required = network.requiredInputSize, inputs.shape.dropFirst().reduce(1, *) != required {
            throw PredictionError.shape(inputs.shape, expected: expectedShape)
        }
        var x = inputs.detached
        if let scaling = fileInfo?.preprocessing, scaling != .none {
            let rows = x.reshaped(to: [x.shape[0], x.count / Swift.max(x.shape[0], 1)])
            x = try scaling.apply(to: rows.converted(to: Double.self)).converted(to: Scalar.self).reshaped(to: x.shape)
        }
        var outputs = network(x)
        guard isClassifier, let loss else {
            if let target = fileInfo?.targetScaling {
                outputs = outputs * Scalar(target.standardDeviation) + Scalar(target.mean)
            }
            return Prediction(outputs: outputs, probabilities: nil, classes: nil, classNames: nil)
        }
        let classes = predictedClasses(outputs)
        let names = classNames ?? (0..<Swift.max(outputs.shape[1], 2)).map(String.init)
        return Prediction(outputs: outputs, probabilities: loss.probabilities(fromOutput: outputs), classes: classes,
                          classNames: classes.map { $0 < names.count ? names[$0] : String($0) })
    }

    private var expectedShape: [Int] {
        network.fixedInputShape ?? network.requiredInputSize.map { [$0] } ?? []
    }
}

/// Inputs a model cannot take.
public enum PredictionError: Error, Equatable, CustomStringConvertible {
    /// The inputs' shape does not fit the network, which takes samples of `expected`.
    case shape([Int], expected: [Int])

    public var description: String {
        switch self {
        case .shape(let shape, let expected):
            "the inputs have shape \(shape); the model takes [samples] + \(expected) (or [samples, \(expected.reduce(1, *))])"
        }
    }
}
