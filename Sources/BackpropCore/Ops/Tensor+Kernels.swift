// Untracked building blocks shared by the public operations and the derivative rules: each runs one kernel over
// raw buffers and records nothing.
extension Tensor {
    /// Applies an element-wise function.
    func applying(_ function: UnaryFunction) -> Tensor {
        let result = Tensor(uninitializedShape: shape)
        Scalar.applyUnary(function, storage.pointer, result.storage.pointer, count: count)
        return result
    }

    /// Applies an element-wise binary function under NumPy broadcasting, stopping with both shapes on a mismatch.
    static func combining(_ function: BinaryFunction, _ lhs: Tensor, _ rhs: Tensor, op: String) -> Tensor {
        guard let shape = Shape.broadcast(lhs.shape, rhs.shape) else {
            preconditionFailure("\(op): shapes \(lhs.shape) and \(rhs.shape) cannot be broadcast together")
        }
        return combining(function, lhs, rhs, into: shape)
    }

    static func combining(_ function: BinaryFunction, _ lhs: Tensor, _ rhs: Tensor, into shape: [Int]) -> Tensor {
        let result = Tensor(uninitializedShape: shape)
        let layout = BroadcastLayout(lhs: lhs.shape, rhs: rhs.shape, output: shape)
        Scalar.applyBinary(function, lhs.storage.pointer, rhs.storage.pointer, result.storage.pointer, layout: layout)
        return result
    }

    /// The values repeated along broadcast dimensions to fill `target` (untracked).
    func broadcastValues(to target: [Int]) -> Tensor {
        if shape == target { return detached }
        precondition(Shape.broadcast(shape, target) == target, "broadcast(to:): cannot broadcast \(shape) to \(target)")
        return Tensor.combining(.add, self, Tensor(0), into: target)
    }

    /// Reduces one axis, keeping it with size 1.
    func reducing(_ reduction: Reduction, axis: Int) -> Tensor {
        var outShape = shape
        outShape[axis] = 1
        let result = Tensor(uninitializedShape: outShape)
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        Scalar.applyReduction(reduction, storage.pointer, result.storage.pointer,
                              outer: outer, length: shape[axis], inner: inner)
        return result
    }

    /// Reduces several axes (all when `axes` is empty is *not* implied; pass them explicitly).
    func reducing(_ reduction: Reduction, axes: [Int], keepingDimensions: Bool) -> Tensor {
        var result = detached
        for axis in axes { result = result.reducing(reduction, axis: axis) }
        if keepingDimensions { return result }
        let kept = shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
        return Tensor(storage: result.storage, shape: kept)
    }
}
