/// The heap buffer behind a ``Tensor``; shared between copies until one of them is mutated.
@usableFromInline
final class TensorStorage<Scalar: TensorScalar>: @unchecked Sendable {
    // Safe to share across threads: a storage is only mutated through `Tensor`'s copy-on-write paths, which first
    // make it uniquely referenced, so no two owners ever see a mutation.
    @usableFromInline let pointer: UnsafeMutablePointer<Scalar>
    @usableFromInline let count: Int

    /// The alignment of every buffer: a cache line. Vector loads then never straddle two lines, and two threads that
    /// write blocks of whole lines never write the same line.
    static var alignment: Int { 64 }

    @usableFromInline
    init(uninitializedCount count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer
            .allocate(byteCount: Swift.max(count, 1) * MemoryLayout<Scalar>.stride, alignment: Self.alignment)
            .bindMemory(to: Scalar.self, capacity: Swift.max(count, 1))
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
        UnsafeMutableRawPointer(pointer).deallocate()
    }
}
