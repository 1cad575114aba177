// Reshaping, transposition, row selection and concatenation. Derivative rules: Autodiff/Derivatives.swift.
extension Tensor {
    /// The same elements viewed with another shape; one dimension may be `-1` and is then inferred.
    public func reshaped(to newShape: [Int]) -> Tensor {
        var target = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.filter { $0 != -1 }.reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshape: cannot infer a dimension of \(newShape) for \(count) elements")
            target[inferred] = count / known
        }
        precondition(target.allSatisfy { $0 >= 0 } && Shape.elementCount(target) == count,
                     "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        return Tensor.recorded(.reshape, inputs: [self], value: Tensor(storage: storage, shape: target))
    }

    /// The elements as a vector.
    public func flattened() -> Tensor { reshaped(to: [count]) }

    /// Repeats the values along broadcast dimensions to fill `target` (NumPy rules).
    public func broadcast(to target: [Int]) -> Tensor {
        Tensor.recorded(.broadcast, inputs: [self], value: broadcastValues(to: target))
    }

    /// The matrix transpose.
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed(): needs a matrix, got shape \(shape); use transposed(permutation:)")
        return transposed(permutation: [1, 0])
    }

    /// Permutes the axes: axis `i` of the result is axis `permutation[i]` of `self`.
    public func transposed(permutation: [Int]) -> Tensor {
        precondition(permutation.sorted() == Array(0..<rank), "transpose: \(permutation) is not a permutation of the axes of \(shape)")
        let outShape = permutation.map { shape[$0] }
        let result = Tensor(uninitializedShape: outShape)
        // Trailing axes that stay in place are copied as contiguous runs (a [channels, batch, pixels] block becomes
        // [batch, channels, pixels] with one copy per image plane).
        var kept = rank
        while kept > 0 && permutation[kept - 1] == kept - 1 { kept -= 1 }
        let run = shape[kept...].reduce(1, *)
        let outer = Array(outShape[..<kept])
        let inStrides = Shape.strides(shape)
        let strides = permutation[..<kept].map { inStrides[$0] }
        let source = storage.pointer, target = result.storage.pointer
        let runs = count / Swift.max(run, 1)
        var index = [Int](repeating: 0, count: kept)
        var offset = 0
        for out in 0..<runs {
            (target + out * run).update(from: source + offset, count: run)
            var axis = kept - 1
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis]
                if index[axis] < outer[axis] { break }
                offset -= strides[axis] * outer[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return Tensor.recorded(.transpose(permutation: permutation), inputs: [self], value: result)
    }

    /// The rows (entries along axis 0) at `indices`, in that order; indices may repeat (mini-batch gathering).
    public func gatheringRows(_ indices: [Int]) -> Tensor {
        precondition(rank >= 1, "gatheringRows: needs rank ≥ 1, got a scalar")
        let rowSize = count / Swift.max(shape[0], 1)
        var outShape = shape
        outShape[0] = indices.count
        let result = Tensor(uninitializedShape: outShape)
        for (row, index) in indices.enumerated() {
            precondition(index >= 0 && index < shape[0], "gatheringRows: row \(index) out of range for shape \(shape)")
            (result.storage.pointer + row * rowSize).initialize(from: storage.pointer + index * rowSize, count: rowSize)
        }
        return Tensor.recorded(.gatherRows(indices: indices), inputs: [self], value: result)
    }

    /// The contiguous rows in `range` (a mini-batch slice).
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "rows: range \(range) out of bounds for shape \(shape)")
        let rowSize = count / Swift.max(shape[0], 1)
        var outShape = shape
        outShape[0] = range.count
        let result = Tensor(uninitializedShape: outShape)
        result.storage.pointer.initialize(from: storage.pointer + range.lowerBound * rowSize, count: range.count * rowSize)
        return Tensor.recorded(.sliceRows(range), inputs: [self], value: result)
    }

    /// Joins tensors along an axis; all other dimensions must match.
    public static func concatenating(_ tensors: [Tensor], alongAxis axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate: needs at least one tensor")
        let first = tensors[0]
        let axis = Shape.normalize(axis: axis, rank: first.rank, op: "concatenate")
        for t in tensors {
            precondition(t.rank == first.rank && t.shape.indices.allSatisfy { $0 == axis || t.shape[$0] == first.shape[$0] },
                         "concatenate: shape \(t.shape) does not match \(first.shape) outside axis \(axis)")
        }
        var outShape = first.shape
        outShape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        let outer = first.shape[..<axis].reduce(1, *)
        let inner = first.shape[(axis + 1)...].reduce(1, *)
        let result = Tensor(uninitializedShape: outShape)
        let outBlock = outShape[axis] * inner
        var position = 0
        for t in tensors {
            let block = t.shape[axis] * inner
            for o in 0..<outer {
                (result.storage.pointer + o * outBlock + position).initialize(from: t.storage.pointer + o * block, count: block)
            }
            position += block
        }
        return recorded(.concatenate(axis: axis), inputs: tensors, value: result)
    }

    /// Splits along `axis` into pieces of the given sizes (the inverse of ``concatenating(_:alongAxis:)``, untracked).
    func splitting(sizes: [Int], alongAxis axis: Int) -> [Tensor] {
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let block = shape[axis] * inner
        var position = 0
        return sizes.map { size in
            var pieceShape = shape
            pieceShape[axis] = size
            let piece = Tensor(uninitializedShape: pieceShape)
            for o in 0..<outer {
                (piece.storage.pointer + o * size * inner).initialize(from: storage.pointer + o * block + position, count: size * inner)
            }
            position += size * inner
            return piece
        }
    }
}
