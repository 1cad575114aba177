import CProcessor

extension Tensor {
    /// Gathers rows of a byte matrix into a new tensor, scaling each byte: `result[i, j] = bytes[rows[i], j] · scale`.
    ///
    /// This is how image datasets stay compact in memory (one byte per pixel) and become a batch of floats only
    /// when a batch is drawn.
    ///
    /// - Parameters:
    ///   - bytes: a row-major `[rowCount, rowSize]` matrix of bytes.
    ///   - rowSize: bytes per row.
    ///   - rows: the rows to gather, in order.
    ///   - scale: the factor applied to every byte (e.g. 1/255).
    /// - Precondition: every row index is inside `bytes`.
    public static func gatheringByteRows(
        _ bytes: UnsafeBufferPointer<UInt8>, rowSize: Int, rows: [Int], scale: Scalar
    ) -> Tensor {
        var result = Tensor(uninitializedShape: [rows.count, rowSize])
        result.assignByteRows(bytes, rowSize: rowSize, rows: rows[...], scale: scale)
        return result
    }
}

extension Tensor {
    /// Overwrites this `[rows.count, rowSize]` matrix with scaled rows of a byte matrix, reusing its storage:
    /// `self[i, j] = bytes[rows[i], j] · scale` (the allocation-free form of ``gatheringByteRows(_:rowSize:rows:scale:)``).
    ///
    /// - Precondition: this tensor is `[rows.count, rowSize]`; every row index is inside `bytes`.
    public mutating func assignByteRows(
        _ bytes: UnsafeBufferPointer<UInt8>, rowSize: Int, rows: ArraySlice<Int>, scale: Scalar
    ) {
        precondition(shape == [rows.count, rowSize], "assignByteRows: \(rows.count) rows of \(rowSize) into \(shape)")
        for row in rows {
            precondition(row >= 0 && (row + 1) * rowSize <= bytes.count, "assignByteRows: row \(row) outside the data")
        }
        guard let base = bytes.baseAddress else { return }
        withUnsafeMutablePointer { target in
            rows.withUnsafeBufferPointer { rows in
                ByteRows(bytes: base, rowSize: rowSize, rows: rows, convertInto: target, scale: scale).run()
            }
        }
    }

    /// Starts loading the byte rows that a later ``assignByteRows(_:rowSize:rows:scale:)`` will read into the
    /// processor's caches, and returns without waiting for them.
    ///
    /// Rows drawn at random from a dataset larger than the caches come from main memory; gathering them was measured
    /// at a tenth of a Fashion-MNIST training step, nearly all of it waiting. Prefetching the next batch while the
    /// current one trains hides most of that wait. Row indices outside `bytes` are skipped.
    public static func prefetchByteRows(_ bytes: UnsafeBufferPointer<UInt8>, rowSize: Int, rows: ArraySlice<Int>) {
        guard let base = bytes.baseAddress else { return }
        rows.withUnsafeBufferPointer { rows in
            ByteRows<Scalar>(bytes: base, rowSize: rowSize, rows: rows, prefetchWithin: bytes.count).run()
        }
    }

    /// Starts loading the rows of this tensor that a later ``assignRows(of:at:)`` will read into the processor's
    /// caches (see ``prefetchByteRows(_:rowSize:rows:)``). Row indices outside the tensor are skipped.
    public func prefetchRows(_ rows: ArraySlice<Int>) {
        guard rank >= 1, shape[0] > 0 else { return }
        let rowBytes = count / shape[0] * MemoryLayout<Scalar>.stride
        let base = UnsafeRawPointer(storage.pointer)
        for row in rows where row >= 0 && row < shape[0] {
            backprop_prefetch(base + row * rowBytes, rowBytes)
        }
    }

    /// Overwrites this tensor with rows of `source` (the allocation-free form of ``gatheringRows(_:)``, untracked).
    ///
    /// - Precondition: this tensor has `source`'s shape with `rows.count` rows; every index is a row of `source`.
    public mutating func assignRows(of source: Tensor, at rows: ArraySlice<Int>) {
        // Compared in place: a modified copy of `source.shape` would allocate on every batch.
        let fits = source.rank >= 1 && rank == source.rank && shape[0] == rows.count
            && shape.dropFirst().elementsEqual(source.shape.dropFirst())
        precondition(fits, "assignRows: \(rows.count) rows of \(source.shape) into \(shape)")
        let rowSize = source.count / Swift.max(source.shape[0], 1)
        withUnsafeMutablePointer { target in
            for (i, row) in rows.enumerated() {
                precondition(row >= 0 && row < source.shape[0], "assignRows: row \(row) out of range for shape \(source.shape)")
                (target + i * rowSize).update(from: source.storage.pointer + row * rowSize, count: rowSize)
            }
        }
    }
}

/// Converting or prefetching rows of a byte matrix, in one run of rows per thread for a batch large enough to gain:
/// both are bound by the latency of main memory, and each core has its own outstanding misses.
private struct ByteRows<Scalar: TensorScalar>: ParallelWork {
    /// Below this many bytes the rows are handled on the calling thread alone.
    static var parallelThreshold: Int { 16_384 }

    let bytes: UnsafePointer<UInt8>
    let rowSize: Int
    let rows: UnsafeBufferPointer<Int>
    /// Where converted rows go (`nil` to prefetch instead).
    let target: UnsafeMutablePointer<Scalar>?
    let scale: Scalar
    /// For prefetching: the size of the byte matrix, past which rows are skipped.
    let byteCount: Int

    /// Converts `rows`, all of them inside the byte matrix, into consecutive rows of `target`.
    init(bytes: UnsafePointer<UInt8>, rowSize: Int, rows: UnsafeBufferPointer<Int>,
         convertInto target: UnsafeMutablePointer<Scalar>, scale: Scalar) {
        (self.bytes, self.rowSize, self.rows, self.target, self.scale, byteCount) = (bytes, rowSize, rows, target, scale, 0)
        parts = Self.parts(rows: rows.count, rowSize: rowSize)
    }

    /// Prefetches `rows`, skipping those outside the `byteCount` bytes of the matrix.
    init(bytes: UnsafePointer<UInt8>, rowSize: Int, rows: UnsafeBufferPointer<Int>, prefetchWithin byteCount: Int) {
        (self.bytes, self.rowSize, self.rows, target, scale, self.byteCount) = (bytes, rowSize, rows, nil, 0, byteCount)
        parts = Self.parts(rows: rows.count, rowSize: rowSize)
    }

    /// Fixed when the work is made: the threads a part runs on must all see the same split.
    let parts: Int

    private static func parts(rows: Int, rowSize: Int) -> Int {
        Swift.min(rows, Parallelism.pool.elementwiseParts(count: rows * rowSize, minimum: parallelThreshold / 2))
    }

    func run() {
        Parallelism.pool.run(self)
    }

    func run(part: Int) {
        handle(range(of: part, in: rows.count))
    }

    private func handle(_ indices: Range<Int>) {
        for i in indices {
            let row = rows[i]
            if let target {
                Scalar.convertBytes(bytes + row * rowSize, target + i * rowSize, count: rowSize, scale: scale)
            } else if row >= 0 && (row + 1) * rowSize <= byteCount {
                backprop_prefetch(bytes + row * rowSize, rowSize)
            }
        }
    }
}
