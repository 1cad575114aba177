/// Shape arithmetic shared by every operation: element counts, strides, NumPy broadcasting and axis checks.
public enum Shape {
    /// The number of elements a tensor of `shape` holds.
    public static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1, *)
    }

    /// Row-major strides of `shape`.
    public static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var stride = 1
        for axis in shape.indices.reversed() {
            strides[axis] = stride
            stride *= shape[axis]
        }
        return strides
    }

    /// The offset of a full index into row-major storage.
    static func offset(of index: [Int], in shape: [Int]) -> Int {
        precondition(index.count == shape.count, "subscript: index \(index) has rank \(index.count), tensor has shape \(shape)")
        var offset = 0
        for (axis, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[axis], "subscript: index \(index) out of range for shape \(shape)")
            offset = offset * shape[axis] + i
        }
        return offset
    }

    /// The shape two operands broadcast to under NumPy rules, or `nil` if they are incompatible.
    ///
    /// Shapes are aligned at their last dimension; each pair of dimensions must be equal or one of them must be 1.
    public static func broadcast(_ lhs: [Int], _ rhs: [Int]) -> [Int]? {
        let rank = Swift.max(lhs.count, rhs.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let l = i < rank - lhs.count ? 1 : lhs[i - (rank - lhs.count)]
            let r = i < rank - rhs.count ? 1 : rhs[i - (rank - rhs.count)]
            guard l == r || l == 1 || r == 1 else { return nil }
            result[i] = l == 1 ? r : l
        }
        return result
    }

    /// Normalises a possibly negative axis (`-1` is the last) against `rank`, stopping with a message naming `op`.
    static func normalize(axis: Int, rank: Int, op: String) -> Int {
        let normalized = axis < 0 ? axis + rank : axis
        precondition(normalized >= 0 && normalized < rank, "\(op): axis \(axis) out of range for rank \(rank)")
        return normalized
    }
}

/// The iteration space of an element-wise binary operation: the output shape and each operand's strides into it
/// (0 along broadcast dimensions).
public struct BroadcastLayout: Sendable {
    /// The output's shape.
    public let shape: [Int]
    /// The left operand's stride along each output dimension.
    public let lhsStrides: [Int]
    /// The right operand's stride along each output dimension.
    public let rhsStrides: [Int]

    init(lhs: [Int], rhs: [Int], output: [Int]) {
        shape = output
        lhsStrides = BroadcastLayout.strides(of: lhs, in: output)
        rhsStrides = BroadcastLayout.strides(of: rhs, in: output)
    }

    private static func strides(of shape: [Int], in output: [Int]) -> [Int] {
        let own = Shape.strides(shape)
        let pad = output.count - shape.count
        return output.indices.map { axis in
            axis < pad || shape[axis - pad] == 1 ? 0 : own[axis - pad]
        }
    }
}
