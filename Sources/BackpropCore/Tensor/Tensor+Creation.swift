extension Tensor {
    /// A tensor of zeros.
    public static func zeros(shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }

    /// A tensor of ones.
    public static func ones(shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    /// A tensor of zeros with another tensor's shape.
    public static func zeros(like other: Tensor) -> Tensor { zeros(shape: other.shape) }

    /// A tensor of ones with another tensor's shape.
    public static func ones(like other: Tensor) -> Tensor { ones(shape: other.shape) }

    /// The `size × size` identity matrix.
    public static func identity(size: Int) -> Tensor {
        var result = zeros(shape: [size, size])
        result.withUnsafeMutablePointer { p in
            for i in 0..<size { p[i * size + i] = 1 }
        }
        return result
    }

    /// A vector `[start, start + step, …]` of the values below `end` (like `numpy.arange`).
    public static func range(from start: Scalar = 0, to end: Scalar, by step: Scalar = 1) -> Tensor {
        precondition(step != 0, "range(from:to:by:): step must not be zero")
        let count = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor(shape: [count], elements: (0..<count).map { start + Scalar($0) * step })
    }

    /// `count` evenly spaced values from `start` to `end` inclusive.
    public static func linearSpace(from start: Scalar, to end: Scalar, count: Int) -> Tensor {
        precondition(count >= 2, "linearSpace(from:to:count:): count must be at least 2")
        let step = (end - start) / Scalar(count - 1)
        return Tensor(shape: [count], elements: (0..<count).map { start + Scalar($0) * step })
    }

    /// Values drawn uniformly from `range`, from an explicit seeded generator.
    public static func uniform(shape: [Int], in range: ClosedRange<Scalar> = 0...1,
                               using generator: inout SeededGenerator) -> Tensor {
        let width = Double(range.upperBound - range.lowerBound)
        let lower = Double(range.lowerBound)
        let values = (0..<Shape.elementCount(shape)).map { _ in
            Scalar(lower + width * generator.nextUnitInterval())
        }
        return Tensor(shape: shape, elements: values)
    }

    /// Values drawn from a normal distribution, from an explicit seeded generator.
    public static func normal(shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1,
                              using generator: inout SeededGenerator) -> Tensor {
        let values = (0..<Shape.elementCount(shape)).map { _ in
            mean + standardDeviation * Scalar(generator.nextStandardNormal())
        }
        return Tensor(shape: shape, elements: values)
    }

    /// One-hot rows: row `i` has a 1 in column `labels[i]` and 0 elsewhere.
    ///
    /// - Precondition: every label is in `0..<classCount`.
    public static func oneHot(labels: [Int], classCount: Int) -> Tensor {
        var result = zeros(shape: [labels.count, classCount])
        result.withUnsafeMutablePointer { p in
            for (row, label) in labels.enumerated() {
                precondition(label >= 0 && label < classCount, "oneHot: label \(label) outside 0..<\(classCount)")
                p[row * classCount + label] = 1
            }
        }
        return result
    }

    /// The same values converted to another element type (untracked).
    public func converted<Other: TensorScalar>(to type: Other.Type = Other.self) -> Tensor<Other> {
        Tensor<Other>(shape: shape, elements: UnsafeBufferPointer(start: storage.pointer, count: count).map { Other($0) })
    }
}
