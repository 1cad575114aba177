/// One CSV column used as input, as fitted on the training data and stored with the model.
///
/// A number column is one input; a text (categorical) column is one input per category seen in training, one-hot:
/// the input of the row's category is 1, the others 0, and a category never seen in training gives all zeros.
public struct FeatureColumn: Codable, Sendable, Equatable {
    /// How a column's cells become inputs.
    public enum Encoding: Codable, Sendable, Equatable {
        /// The cell's number; a missing cell becomes `fill`, or is an error without one.
        case numeric(fill: Double?)
        /// One input per category, in this order; a missing cell counts as `fill`, or is an error without one.
        case categorical(categories: [String], fill: String?)
    }

    /// The header name (`columnN`, 1-based, in a file without a header row).
    public var name: String
    /// How its cells become inputs.
    public var encoding: Encoding

    /// Describes a column.
    public init(name: String, encoding: Encoding) {
        self.name = name
        self.encoding = encoding
    }

    /// The names of the inputs it produces: the column's name, or `name=category` for each category.
    public var inputNames: [String] {
        switch encoding {
        case .numeric: [name]
        case .categorical(let categories, _): categories.map { "\(name)=\($0)" }
        }
    }

    /// How many inputs it produces.
    public var width: Int {
        switch encoding {
        case .numeric: 1
        case .categorical(let categories, _): categories.count
        }
    }

    /// Whether the inputs it produces are one-hot indicators (which feature scaling leaves as they are).
    public var isCategorical: Bool {
        if case .categorical = encoding { true } else { false }
    }

    /// What makes the description unusable (no categories, repeated categories, a fill that is not finite or not a
    /// category), or `nil`.
    var inconsistency: String? {
        switch encoding {
        case .numeric(let fill):
            if let fill, !fill.isFinite { return "column '\(name)' has a fill value that is not finite" }
        case .categorical(let categories, let fill):
            if categories.isEmpty || Set(categories).count != categories.count {
                return "column '\(name)' needs distinct categories"
            }
            if let fill, !categories.contains(fill) { return "column '\(name)' fills gaps with '\(fill)', not one of its categories" }
        }
        return nil
    }
}

/// The standardisation of a regression target: training sees `(t − mean) / standardDeviation`, and predictions are
/// mapped back with `y · standardDeviation + mean`.
public struct TargetScaling: Codable, Sendable, Equatable {
    /// The training targets' mean.
    public var mean: Double
    /// The training targets' standard deviation (1 for a constant target).
    public var standardDeviation: Double

    /// Records a transform.
    public init(mean: Double, standardDeviation: Double) {
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// Fits the transform to training targets.
    public static func fit(to targets: [Double]) -> TargetScaling {
        let n = Double(Swift.max(targets.count, 1))
        let mean = targets.reduce(0, +) / n
        let deviation = (targets.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        return TargetScaling(mean: mean, standardDeviation: deviation > 1e-12 ? deviation : 1)
    }

    /// A target in the units the model is trained on.
    public func standardized(_ target: Double) -> Double { (target - mean) / standardDeviation }

    /// A model output in the target's own units.
    public func original(_ output: Double) -> Double { output * standardDeviation + mean }

    var inconsistency: String? {
        mean.isFinite && standardDeviation.isFinite && standardDeviation > 0
            ? nil : "the target scaling holds a non-finite value or a spread that is not positive"
    }
}
