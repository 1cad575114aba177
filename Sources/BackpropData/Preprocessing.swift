import BackpropCore

/// A per-feature transform fitted on training data and stored with the model, so that evaluation and prediction
/// see inputs the way training did.
public enum FeatureScaling: Sendable, Equatable, Codable {
    /// Inputs are used as they are.
    case none
    /// `(x − mean) / std` per feature (a constant feature keeps std 1).
    case standardize(mean: [Double], standardDeviation: [Double])
    /// `(x − min) / (max − min)` per feature, into [0, 1] on the training data.
    case minMax(minimum: [Double], maximum: [Double])
    /// `x · factor` for every feature (bytes to [0, 1]: 1/255).
    case uniform(factor: Double)

    /// The kinds a user can ask for.
    public enum Kind: String, Sendable, CaseIterable {
        /// No scaling.
        case none
        /// (x − mean) / standard deviation per feature.
        case standard
        /// (x − min) / (max − min) per feature: [0, 1] on the training data.
        case minmax
    }

    /// Fits a transform of `kind` to `[samples, features]` training data.
    ///
    /// - Parameters:
    ///   - kind: the transform.
    ///   - features: the training data.
    ///   - unscaled: features to pass through unchanged (one-hot indicators), one flag per feature; none when empty.
    public static func fit(_ kind: Kind, to features: Tensor<Double>, leaving unscaled: [Bool] = []) -> FeatureScaling {
        func kept(_ values: [Double], _ identity: Double) -> [Double] {
            unscaled.isEmpty ? values : zip(values, unscaled).map { $1 ? identity : $0 }
        }
        switch kind {
        case .none:
            return .none
        case .standard:
            let mean = features.mean(alongAxis: 0)
            let deviation = sqrt(square(features - mean).mean(alongAxis: 0))
            return .standardize(mean: kept(mean.scalars, 0), standardDeviation: kept(deviation.scalars.map { $0 > 1e-12 ? $0 : 1 }, 1))
        case .minmax:
            let low = features.min(alongAxis: 0).scalars
            let high = features.max(alongAxis: 0).scalars
            return .minMax(minimum: kept(low, 0), maximum: kept(zip(low, high).map { $1 - $0 > 1e-12 ? $1 : $0 + 1 }, 1))
        }
    }

    /// The number of features the transform was fitted on (`nil` for transforms of any width).
    public var featureCount: Int? {
        switch self {
        case .none, .uniform: nil
        case .standardize(let mean, _): mean.count
        case .minMax(let low, _): low.count
        }
    }

    /// What makes the transform unusable (lengths that differ, a non-finite value, a zero or negative spread), or
    /// `nil`.
    public var inconsistency: String? {
        let (offsets, spreads): ([Double], [Double]) = switch self {
        case .none: ([], [])
        case .uniform(let factor): ([], [factor])
        case .standardize(let mean, let deviation): (mean, deviation)
        case .minMax(let low, let high): (low, zip(low, high).map { $1 - $0 })
        }
        if case .standardize = self, offsets.count != spreads.count { return "the scaling's means and deviations differ in length" }
        if case .minMax = self, offsets.count != spreads.count { return "the scaling's minima and maxima differ in length" }
        guard offsets.allSatisfy(\.isFinite), spreads.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            return "the feature scaling holds a non-finite value or a spread that is not positive"
        }
        return nil
    }

    /// Applies the transform to `[samples, features]` values.
    ///
    /// - Throws: ``DataError/mismatch(_:)`` when the feature count differs from the fitted one.
    public func apply(to features: Tensor<Double>) throws -> Tensor<Double> {
        func check(_ count: Int) throws {
            guard features.rank == 2, features.shape[1] == count else {
                throw DataError.mismatch("the data has \(features.shape.last ?? 0) features, the model's scaling was fitted on \(count)")
            }
        }
        switch self {
        case .none:
            return features
        case .standardize(let mean, let deviation):
            try check(mean.count)
            return (features - Tensor(mean)) / Tensor(deviation)
        case .minMax(let low, let high):
            try check(low.count)
            return (features - Tensor(low)) / Tensor(zip(low, high).map { $1 - $0 })
        case .uniform(let factor):
            return features * factor
        }
    }
}

extension Tensor {
    /// The minimum along one axis (untracked convenience for fitting scalers).
    func min(alongAxis axis: Int) -> Tensor { -((-self).max(alongAxis: axis)) }
}
