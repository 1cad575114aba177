extension Tensor: CustomStringConvertible, CustomDebugStringConvertible {
    /// The shape, element type and values; large tensors show their first and last three entries per dimension.
    public var description: String {
        "Tensor<\(dtype)>\(shape)\(isTracked ? " (tracked)" : "")\n\(formatted(axis: 0, offset: 0, indent: 0))"
    }

    public var debugDescription: String { description }

    private static var edgeItems: Int { 3 }

    private func formatted(axis: Int, offset: Int, indent: Int) -> String {
        if rank == 0 { return "\(storage.pointer[0])" }
        let size = shape[axis]
        let stride = Shape.strides(shape)[axis]
        let shown: [Int?] = size > 2 * Tensor.edgeItems + 1
            ? Array(0..<Tensor.edgeItems) + [nil] + Array((size - Tensor.edgeItems)..<size)
            : Array(0..<size)
        if axis == rank - 1 {
            let items = shown.map { i in i.map { "\(storage.pointer[offset + $0])" } ?? "…" }
            return "[" + items.joined(separator: ", ") + "]"
        }
        let pad = String(repeating: " ", count: indent + 1)
        let items = shown.map { i in
            i.map { formatted(axis: axis + 1, offset: offset + $0 * stride, indent: indent + 1) } ?? "…"
        }
        return "[" + items.joined(separator: ",\n" + pad) + "]"
    }
}
