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
