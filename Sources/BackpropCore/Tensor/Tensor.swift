/// An n-dimensional array of `Float` or `Double` values that can record the operations applied to it.
///
/// `Tensor` is a value type: elements live in row-major, contiguous, copy-on-write storage, so copying a tensor is
/// cheap and mutating a copy never changes the original.
///
/// A tensor made with ``requiringGradient()`` is a *leaf* of a computation graph. Every operation whose inputs
/// include a tracked tensor returns a tracked tensor that points back to them; ``gradients(withRespectTo:)`` then
/// walks that graph right to left. Operations on untracked tensors (inference) record nothing.
///
/// ```swift
/// let w = Tensor<Double>([[0.15, 0.20], [0.25, 0.30]]).requiringGradient()
/// let x = Tensor<Double>([[0.05, 0.10]])
/// let loss = sigmoid(x.matmul(w, transposeB: true)).sum()
/// let dW = loss.gradients(withRespectTo: [w])[0]
/// ```
public struct Tensor<Scalar: TensorScalar>: @unchecked Sendable {
    // Sendable: the storage is copy-on-write (see TensorStorage) and graph nodes are immutable after creation.
    @usableFromInline var storage: TensorStorage<Scalar>
    /// The size of each dimension; `[]` for a scalar.
    public internal(set) var shape: [Int]
    /// The graph node that produced this tensor, if it is tracked.
    var node: Node<Scalar>?

    init(storage: TensorStorage<Scalar>, shape: [Int], node: Node<Scalar>? = nil) {
        precondition(storage.count == Shape.elementCount(shape), "storage holds \(storage.count) elements, shape \(shape) needs \(Shape.elementCount(shape))")
        self.storage = storage
        self.shape = shape
        self.node = node
    }

    /// Creates a tensor of the given shape from row-major elements.
    ///
    /// - Precondition: `elements.count` equals the product of `shape`.
    public init<C: Collection>(shape: [Int], elements: C) where C.Element == Scalar {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor(shape:elements:): negative dimension in \(shape)")
        precondition(elements.count == Shape.elementCount(shape),
                     "Tensor(shape:elements:): \(elements.count) elements do not fill shape \(shape)")
        self.init(storage: TensorStorage(elements), shape: shape)
    }

    /// Creates a tensor of the given shape with every element equal to `value`.
    public init(shape: [Int], repeating value: Scalar) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor(shape:repeating:): negative dimension in \(shape)")
        self.init(storage: TensorStorage(repeating: value, count: Shape.elementCount(shape)), shape: shape)
    }

    /// Creates a rank-0 tensor holding one value.
    public init(_ value: Scalar) {
        self.init(shape: [], repeating: value)
    }

    /// Creates a vector.
    public init(_ elements: [Scalar]) {
        self.init(shape: [elements.count], elements: elements)
    }

    /// Creates a matrix from rows of equal length.
    public init(_ rows: [[Scalar]]) {
        let columns = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == columns }, "Tensor(_:): rows have different lengths")
        self.init(shape: [rows.count, columns], elements: rows.joined())
    }

    /// Creates an uninitialised tensor; the caller must write every element before reading any.
    init(uninitializedShape shape: [Int]) {
        self.init(storage: TensorStorage(uninitializedCount: Shape.elementCount(shape)), shape: shape)
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The total number of elements.
    public var count: Int { storage.count }

    /// The element type.
    public var dtype: DType { Scalar.dtype }

    /// The elements in row-major order.
    public var scalars: [Scalar] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// The single element of a one-element tensor.
    ///
    /// - Precondition: the tensor holds exactly one element.
    public var scalar: Scalar {
        precondition(count == 1, "scalar: tensor of shape \(shape) holds \(count) elements, not 1")
        return storage.pointer[0]
    }

    /// Reads or writes the element at a full multi-dimensional index.
    public subscript(_ index: Int...) -> Scalar {
        get { storage.pointer[Shape.offset(of: index, in: shape)] }
        set {
            let offset = Shape.offset(of: index, in: shape)
            withUnsafeMutablePointer { $0[offset] = newValue }
        }
    }

    /// Calls `body` with a pointer to the contiguous row-major elements.
    public func withUnsafePointer<R>(_ body: (UnsafePointer<Scalar>) throws -> R) rethrows -> R {
        try body(storage.pointer)
    }

    /// Calls `body` with a mutable pointer to the elements, copying the storage first if it is shared.
    ///
    /// Mutating a tracked tensor's elements in place detaches it from its graph.
    public mutating func withUnsafeMutablePointer<R>(_ body: (UnsafeMutablePointer<Scalar>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
        }
        node = nil
        return try body(storage.pointer)
    }

    /// Whether this tensor records the operations applied to it.
    public var isTracked: Bool { node != nil }

    /// This tensor's values without its graph: operations on the result record nothing.
    public var detached: Tensor {
        Tensor(storage: storage, shape: shape)
    }

    /// Returns this tensor's values as a new leaf of a computation graph.
    ///
    /// Each call makes a distinct leaf; pass the returned tensor to ``gradients(withRespectTo:)``.
    public func requiringGradient() -> Tensor {
        Tensor(storage: storage, shape: shape, node: Node(leafOf: storage, shape: shape))
    }

    /// Whether two tensors share the same storage (for testing copy-on-write).
    public func sharesStorage(with other: Tensor) -> Bool { storage === other.storage }
}

extension Tensor: Equatable {
    /// Tensors are equal when their shapes and elements are equal (graph tracking is ignored).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape && (lhs.storage === rhs.storage
            || (0..<lhs.count).allSatisfy { lhs.storage.pointer[$0] == rhs.storage.pointer[$0] })
    }
}
