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
        let result = Tensor(uninitializedShape: [rows.count, rowSize])
        for (i, row) in rows.enumerated() {
            precondition(row >= 0 && (row + 1) * rowSize <= bytes.count, "gatheringByteRows: row \(row) outside the data")
            Scalar.convertBytes(bytes.baseAddress! + row * rowSize, result.storage.pointer + i * rowSize,
                                count: rowSize, scale: scale)
        }
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
        withUnsafeMutablePointer { target in
            for (i, row) in rows.enumerated() {
                precondition(row >= 0 && (row + 1) * rowSize <= bytes.count, "assignByteRows: row \(row) outside the data")
                Scalar.convertBytes(bytes.baseAddress! + row * rowSize, target + i * rowSize, count: rowSize, scale: scale)
            }
        }
    }

    /// Overwrites this tensor with rows of `source` (the allocation-free form of ``gatheringRows(_:)``, untracked).
    ///
    /// - Precondition: this tensor has `source`'s shape with `rows.count` rows; every index is a row of `source`.
    public mutating func assignRows(of source: Tensor, at rows: ArraySlice<Int>) {
        var expected = source.shape
        if !expected.isEmpty { expected[0] = rows.count }
        precondition(source.rank >= 1 && shape == expected, "assignRows: \(rows.count) rows of \(source.shape) into \(shape)")
        let rowSize = source.count / Swift.max(source.shape[0], 1)
        withUnsafeMutablePointer { target in
            for (i, row) in rows.enumerated() {
                precondition(row >= 0 && row < source.shape[0], "assignRows: row \(row) out of range for shape \(source.shape)")
                (target + i * rowSize).update(from: source.storage.pointer + row * rowSize, count: rowSize)
            }
        }
    }
}
