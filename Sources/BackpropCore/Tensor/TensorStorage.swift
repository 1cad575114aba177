/// The heap buffer behind a ``Tensor``; shared between copies until one of them is mutated.
@usableFromInline
final class TensorStorage<Scalar: TensorScalar>: @unchecked Sendable {
    // Safe to share across threads: a storage is only mutated through `Tensor`'s copy-on-write paths, which first
    // make it uniquely referenced, so no two owners ever see a mutation.
    @usableFromInline let pointer: UnsafeMutablePointer<Scalar>
    @usableFromInline let count: Int

    @usableFromInline
    init(uninitializedCount count: Int) {
        self.count = count
        pointer = UnsafeMutablePointer<Scalar>.allocate(capacity: Swift.max(count, 1))
    }

    convenience init(repeating value: Scalar, count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    convenience init<C: Collection>(_ elements: C) where C.Element == Scalar {
        self.init(uninitializedCount: elements.count)
        _ = UnsafeMutableBufferPointer(start: pointer, count: count).initialize(from: elements)
    }

    func copy() -> TensorStorage {
        let result = TensorStorage(uninitializedCount: count)
        result.pointer.initialize(from: pointer, count: count)
        return result
    }

    deinit {
        pointer.deallocate()
    }
}
