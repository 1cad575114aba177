/// Writes the computation graph of one forward and backward pass in Graphviz DOT.
///
/// One box per operation with its kind, shape and (for small tensors) its value and its gradient ∂J/∂value;
/// edges run in data-flow order (inputs to outputs). Each box is numbered with its step in the backward walk: the
/// walk visits every node once, right to left, after all the nodes that use its value, so each node's upstream
/// gradient is complete — computed once and reused, the dynamic-programming view of backpropagation. Render with
/// `dot -Tsvg graph.dot -o graph.svg`.
public enum GraphExport {
    /// The DOT text for the graph that produced `loss`.
    ///
    /// - Parameters:
    ///   - loss: the scalar whose graph is drawn (it must have been computed from tensors requiring gradients).
    ///   - names: labels for chosen tensors (parameters, inputs), keyed by their node.
    ///   - elementLimit: tensors with at most this many elements show their values.
    public static func dot<Scalar>(loss: Tensor<Scalar>, names: [ObjectIdentifier: String] = [:], elementLimit: Int = 6) -> String {
        let (order, gradients) = loss.backwardTrace()
        let step = Dictionary(uniqueKeysWithValues: order.enumerated().map { (ObjectIdentifier($1), $0 + 1) })
        func id(_ node: Node<Scalar>) -> String { "n\(step[ObjectIdentifier(node)]!)" }
        func values(_ t: Tensor<Scalar>) -> String {
            guard t.count <= elementLimit else { return "‖·‖ = \(short(Double(t.norm)))" }
            return "[" + t.scalars.map { short(Double($0)) }.joined(separator: ", ") + "]"
        }
        var lines = [
            "digraph backprop {",
            "  rankdir=LR;",
            "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f7f7f7\", fontname=\"Helvetica\", fontsize=10];",
            "  edge [color=\"#555555\"];",
            "  label=\"forward: arrows (left to right); backward: numbered steps, right to left\"; labelloc=t; fontname=\"Helvetica\";",
        ]
        for node in order.reversed() {
            let key = ObjectIdentifier(node)
            let title = names[key].map { "\($0) (\(node.op.name))" } ?? node.op.name
            var label = "#\(step[key]!) \(title)\\nshape \(node.output.shape)\\nvalue \(values(node.output))"
            if let gradient = gradients[key] { label += "\\n∂J/∂· \(values(gradient))" }
            let colour = node.op == .leaf ? "#dbe9f6" : (node === loss.graphNode ? "#fde0c5" : "#f7f7f7")
            lines.append("  \(id(node)) [label=\"\(label)\", fillcolor=\"\(colour)\"];")
        }
        for node in order.reversed() {
            for input in node.inputNodes.compactMap({ $0 }) {
                lines.append("  \(id(input)) -> \(id(node));")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func short(_ x: Double) -> String {
        if x == 0 { return "0" }
        let magnitude = Swift.abs(x)
        if magnitude >= 1e-3 && magnitude < 1e4 {
            let scaled = (x * 1e4).rounded() / 1e4
            return "\(scaled)"
        }
        var exponent = 0
        var mantissa = magnitude
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        while mantissa < 1 { mantissa *= 10; exponent -= 1 }
        return (x < 0 ? "-" : "") + "\((mantissa * 1000).rounded() / 1000)e\(exponent)"
    }
}
