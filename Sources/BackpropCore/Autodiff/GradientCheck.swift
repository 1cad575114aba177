/// Verifies reverse-mode gradients against central finite differences in `Double`.
///
/// For every element xᵢ of every input, the numerical derivative is
/// ```
/// (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h
/// ```
/// and the error of an element is `|analytic − numeric| / max(|analytic|, |numeric|, 10⁻³)`: a relative error for
/// gradients larger than 10⁻³, and 1000 × the absolute error below that, where a relative error would only measure
/// the round-off of the difference quotient.
///
/// ```swift
/// let report = GradientCheck.run(at: [Tensor<Double>([[0.5, -1.2]])]) { x in sigmoid(x[0]).sum() }
/// print(report)            // max relative error per input, worst element
/// precondition(report.passed(tolerance: 1e-6))
/// ```
public enum GradientCheck {
    /// Compares `function`'s gradients with finite differences at `inputs`.
    ///
    /// - Parameters:
    ///   - inputs: the point to check at; every element is perturbed in turn.
    ///   - step: the finite-difference step h.
    ///   - elementLimit: check at most this many elements of each input, chosen at random with `seed` (all when
    ///     `nil`); large models are checked on a sample.
    ///   - seed: the seed of that sample.
    ///   - function: a scalar function of the inputs, built from tensor operations.
    public static func run(
        at inputs: [Tensor<Double>], step: Double = 1e-5, elementLimit: Int? = nil, seed: UInt64 = 0,
        _ function: ([Tensor<Double>]) -> Tensor<Double>
    ) -> GradientCheckReport {
        let tracked = inputs.map { $0.requiringGradient() }
        let output = function(tracked)
        precondition(output.count == 1, "GradientCheck: the function must return one value, it returned shape \(output.shape)")
        let analytic = output.gradients(withRespectTo: tracked)
        var reports: [GradientCheckReport.Input] = []
        var generator = SeededGenerator(seed: seed)
        for (index, input) in inputs.enumerated() {
            var worst = GradientCheckReport.Input(index: index, shape: input.shape)
            let elements = elementLimit.map { $0 < input.count ? Array(generator.permutation(of: input.count).prefix($0)) : nil }
                ?? nil
            worst.checkedElements = elements?.count ?? input.count
            for element in elements ?? Array(0..<input.count) {
                var probe = inputs.map(\.detached)
                let original = input.withUnsafePointer { $0[element] }
                probe[index].withUnsafeMutablePointer { $0[element] = original + step }
                let plus = function(probe).scalar
                probe[index].withUnsafeMutablePointer { $0[element] = original - step }
                let minus = function(probe).scalar
                let numeric = (plus - minus) / (2 * step)
                let exact = analytic[index].withUnsafePointer { $0[element] }
                worst.record(element: element, analytic: exact, numeric: numeric)
            }
            reports.append(worst)
        }
        return GradientCheckReport(inputs: reports)
    }
}

/// The outcome of a ``GradientCheck``: per input, the largest errors and where they occurred.
public struct GradientCheckReport: Sendable, CustomStringConvertible {
    /// The errors of one input.
    public struct Input: Sendable {
        /// The input's position in the checked function's argument list.
        public var index: Int
        /// The input's shape.
        public var shape: [Int]
        /// How many of its elements were checked.
        public var checkedElements: Int = 0
        /// The largest |analytic − numeric| over the elements.
        public var maxAbsoluteError: Double = 0
        /// The largest scaled error (see ``GradientCheck``) over the elements.
        public var maxRelativeError: Double = 0
        /// The flat index of the element with the largest relative error.
        public var worstElement: Int = 0
        /// The engine's gradient at the worst element.
        public var worstAnalytic: Double = 0
        /// The finite-difference gradient at the worst element.
        public var worstNumeric: Double = 0

        init(index: Int, shape: [Int]) {
            self.index = index
            self.shape = shape
        }

        mutating func record(element: Int, analytic: Double, numeric: Double) {
            let absolute = Swift.abs(analytic - numeric)
            let relative = absolute / Swift.max(Swift.abs(analytic), Swift.abs(numeric), 1e-3)
            maxAbsoluteError = Swift.max(maxAbsoluteError, absolute)
            // NaN compares false, so test the negation to let a NaN become the worst element.
            if !(relative <= maxRelativeError) {
                maxRelativeError = relative
                worstElement = element
                worstAnalytic = analytic
                worstNumeric = numeric
            }
        }
    }

    /// One entry per checked input.
    public var inputs: [Input]

    /// The largest relative error over all inputs.
    public var maxRelativeError: Double { inputs.map(\.maxRelativeError).max() ?? 0 }

    /// Whether every element's error is below `tolerance`.
    public func passed(tolerance: Double = 1e-6) -> Bool {
        inputs.allSatisfy { $0.maxRelativeError < tolerance }
    }

    public var description: String {
        inputs.map { input in
            "input \(input.index) \(input.shape): max relative error \(input.maxRelativeError), "
                + "max absolute error \(input.maxAbsoluteError), worst element \(input.worstElement) "
                + "(analytic \(input.worstAnalytic), numeric \(input.worstNumeric))"
        }.joined(separator: "\n")
    }
}
