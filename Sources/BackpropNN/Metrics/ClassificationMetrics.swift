/// Accuracy, confusion matrix and per-class precision, recall and F1 of predicted class indices.
public struct ClassificationMetrics: Sendable, Equatable {
    /// `confusion[actual][predicted]` counts.
    public let confusion: [[Int]]

    /// Tallies predictions against labels.
    ///
    /// - Precondition: equal counts, and every index in `0..<classCount`.
    public init(predictions: [Int], labels: [Int], classCount: Int) {
        precondition(predictions.count == labels.count, "ClassificationMetrics: \(predictions.count) predictions for \(labels.count) labels")
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: classCount)
        for (p, y) in zip(predictions, labels) {
            precondition((0..<classCount).contains(p) && (0..<classCount).contains(y), "ClassificationMetrics: class index outside 0..<\(classCount)")
            confusion[y][p] += 1
        }
        self.confusion = confusion
    }

    /// The number of classes.
    public var classCount: Int { confusion.count }
    /// The number of samples.
    public var total: Int { confusion.joined().reduce(0, +) }
    /// The fraction of samples predicted correctly.
    public var accuracy: Double {
        total == 0 ? 0 : Double((0..<classCount).reduce(0) { $0 + confusion[$1][$1] }) / Double(total)
    }

    /// Of the samples predicted as `c`, the fraction that are `c` (0 when none was predicted).
    public func precision(of c: Int) -> Double {
        let predicted = confusion.reduce(0) { $0 + $1[c] }
        return predicted == 0 ? 0 : Double(confusion[c][c]) / Double(predicted)
    }

    /// Of the samples of class `c`, the fraction predicted as `c` (0 when the class is absent).
    public func recall(of c: Int) -> Double {
        let actual = confusion[c].reduce(0, +)
        return actual == 0 ? 0 : Double(confusion[c][c]) / Double(actual)
    }

    /// The harmonic mean of precision and recall of class `c`.
    public func f1(of c: Int) -> Double {
        let p = precision(of: c), r = recall(of: c)
        return p + r == 0 ? 0 : 2 * p * r / (p + r)
    }

    /// The unweighted mean of the per-class F1 scores.
    public var macroF1: Double {
        classCount == 0 ? 0 : (0..<classCount).reduce(0) { $0 + f1(of: $1) } / Double(classCount)
    }
}

/// Error measures of real-valued predictions.
public struct RegressionMetrics: Sendable, Equatable {
    /// Mean absolute error.
    public let meanAbsoluteError: Double
    /// Root of the mean squared error.
    public let rootMeanSquaredError: Double
    /// Coefficient of determination 1 − SS_res / SS_tot (1 is a perfect fit; 0 predicts the mean).
    public let rSquared: Double

    /// Compares predictions with targets element by element.
    ///
    /// - Precondition: equal, nonzero counts.
    public init(predictions: [Double], targets: [Double]) {
        precondition(predictions.count == targets.count && !targets.isEmpty, "RegressionMetrics: need equal, nonzero counts")
        let n = Double(targets.count)
        let residuals = zip(predictions, targets).map { $0 - $1 }
        meanAbsoluteError = residuals.reduce(0) { $0 + Swift.abs($1) } / n
        let squaredResiduals = residuals.reduce(0) { $0 + $1 * $1 }
        rootMeanSquaredError = (squaredResiduals / n).squareRoot()
        let mean = targets.reduce(0, +) / n
        let totalSquares = targets.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        rSquared = totalSquares == 0 ? (squaredResiduals == 0 ? 1 : 0) : 1 - squaredResiduals / totalSquares
    }
}
