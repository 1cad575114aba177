import BackpropCore
import BackpropNN
import RealModule

/// Small generated datasets for demonstrations and tests: seeded, no download.
///
/// Features are centred near 0 with a spread of about 1, so no scaling is needed.
public enum BuiltinDataset: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Two interleaved spirals (2 classes, 2 features): not linearly separable, needs a hidden layer.
    case spirals
    /// The four corners of the XOR truth table (2 classes), repeated with a little noise.
    case xor
    /// A circle inside a ring (2 classes).
    case circles
    /// Two interleaving half-moons (2 classes).
    case moons
    /// Three Gaussian clusters (3 classes).
    case blobs
    /// y = sin(x) + noise on x ∈ [−π, π] (regression, 1 feature, 1 target).
    case sine

    /// Parses `builtin:NAME` or `NAME`.
    public init?(name: String) {
        let bare = name.hasPrefix("builtin:") ? String(name.dropFirst("builtin:".count)) : name
        self.init(rawValue: bare)
    }

    public var description: String { "builtin:\(rawValue)" }

    /// The number of samples made when none is asked for.
    public var defaultCount: Int {
        switch self {
        case .xor: 200
        case .sine: 256
        default: 600
        }
    }

    /// Makes the dataset.
    ///
    /// - Parameters:
    ///   - count: the number of samples (split evenly between classes).
    ///   - seed: the same seed gives the same samples.
    public func make<Scalar: TensorScalar>(count: Int? = nil, seed: UInt64 = 0) -> InMemoryDataset<Scalar> {
        let n = Swift.max(count ?? defaultCount, 4)
        var g = SeededGenerator(seed: seed)
        var features: [Double] = []
        var labels: [Int] = []
        features.reserveCapacity(2 * n)
        func add(_ x: Double, _ y: Double, _ label: Int) {
            features += [x, y]
            labels.append(label)
        }
        switch self {
        case .spirals:
            let perClass = n / 2
            for c in 0..<2 {
                for i in 0..<perClass {
                    let r = Double(i) / Double(perClass) * 1.0 + 0.05
                    let t = 1.75 * Double(i) / Double(perClass) * 2 * Double.pi + Double(c) * Double.pi
                    add(r * Double.cos(t) + 0.02 * g.nextStandardNormal(), r * Double.sin(t) + 0.02 * g.nextStandardNormal(), c)
                }
            }
        case .xor:
            for i in 0..<n {
                let a = i % 2, b = (i / 2) % 2
                add(Double(a) * 2 - 1 + 0.1 * g.nextStandardNormal(), Double(b) * 2 - 1 + 0.1 * g.nextStandardNormal(), a ^ b)
            }
        case .circles:
            for i in 0..<n {
                let c = i % 2
                let angle = 2 * Double.pi * g.nextUnitInterval()
                let radius = (c == 0 ? 0.5 : 1.0) + 0.08 * g.nextStandardNormal()
                add(radius * Double.cos(angle), radius * Double.sin(angle), c)
            }
        case .moons:
            for i in 0..<n {
                let c = i % 2
                let t = Double.pi * g.nextUnitInterval()
                let (x, y) = c == 0 ? (Double.cos(t), Double.sin(t)) : (1 - Double.cos(t), 0.5 - Double.sin(t))
                add(x - 0.5 + 0.1 * g.nextStandardNormal(), y - 0.25 + 0.1 * g.nextStandardNormal(), c)
            }
        case .blobs:
            let centres = [(-1.0, -1.0), (1.0, -0.5), (0.0, 1.2)]
            for i in 0..<n {
                let c = i % 3
                add(centres[c].0 + 0.35 * g.nextStandardNormal(), centres[c].1 + 0.35 * g.nextStandardNormal(), c)
            }
        case .sine:
            var xs: [Double] = []
            var ys: [Double] = []
            for _ in 0..<n {
                let x = -Double.pi + 2 * Double.pi * g.nextUnitInterval()
                xs.append(x)
                ys.append(Double.sin(x) + 0.05 * g.nextStandardNormal())
            }
            let inputs = Tensor<Scalar>(shape: [n, 1], elements: xs.map { Scalar($0) })
            let targets = Tensor<Scalar>(shape: [n, 1], elements: ys.map { Scalar($0) })
            // Shapes are consistent by construction.
            return try! InMemoryDataset(features: inputs, values: targets)
        }
        let tensor = Tensor<Scalar>(shape: [labels.count, 2], elements: features.map { Scalar($0) })
        let classes = self == .blobs ? 3 : 2
        return try! InMemoryDataset(features: tensor, labels: labels, classCount: classes)
    }
}
