import BackpropCore
import BackpropNN

/// Renders a ``BackpropTrace`` as text, Markdown or JSON.
struct ExplainRenderer {
    let trace: BackpropTrace<Double>
    let losses: [Double]
    let full: Bool

    /// Vectors and matrices with more elements than this are summarised unless `full`.
    static let elementLimit = 16

    /// How numbers and tensors are printed: shared with ``LayerTraceRenderer``.
    struct Values {
        let full: Bool

        func number(_ x: Double) -> String {
            guard x.isFinite else { return "\(x)" }
            if x == 0 { return "0" }
            let magnitude = Swift.abs(x)
            if magnitude >= 1e-4 && magnitude < 1e6 {
                var text = "\((x * 1e9).rounded() / 1e9)"
                if text.hasSuffix(".0") { text.removeLast(2) }
                return text
            }
            return "\(x)"
        }

        func callAsFunction(_ t: Tensor<Double>) -> String {
            if !full && t.count > ExplainRenderer.elementLimit {
                let v = t.scalars
                return "shape \(t.shape.filter { $0 != 1 }), ‖·‖ = \(number(Double(t.norm))), min \(number(v.min() ?? 0)), max \(number(v.max() ?? 0))"
            }
            let rows = t.rank == 2 && t.shape[0] > 1 ? t.shape[0] : 1
            let columns = t.count / Swift.max(rows, 1)
            let v = t.scalars
            let formatted = (0..<rows).map { r in "[" + v[(r * columns)..<((r + 1) * columns)].map(number).joined(separator: ", ") + "]" }
            return rows == 1 ? formatted[0] : "[" + formatted.joined(separator: ", ") + "]"
        }
    }

    func number(_ x: Double) -> String { Values(full: full).number(x) }

    func values(_ t: Tensor<Double>) -> String { Values(full: full)(t) }

    private var lossFormula: (loss: String, derivative: String) {
        switch trace.lossFunction {
        case is HalfSquaredError: ("J = ½ Σ (T − a)²", "a{s} − T")
        case is MeanSquaredError: ("J = mean (T − a)²", "2(a{s} − T)/n")
        case is MeanAbsoluteError: ("J = Σ |T − a|", "sign(a{s} − T)")
        case is Huber: ("J = Σ huber(a − T)", "clamp(a{s} − T, −δ, δ)")
        case is CrossEntropy: ("J = −Σ T log a", "−T / a{s}")
        case is SoftmaxCrossEntropy: ("J = −Σ y log softmax(z)", "δ = ŷ − y")
        case is BinaryCrossEntropy: ("J = Σ softplus(z) − z·y", "δ = σ(z) − y")
        default: ("J = \(trace.lossFunction.name)(a, T)", "∂J/∂a{s}")
        }
    }

    func text(markdown: Bool) -> String {
        var out: [String] = []
        let L = trace.layers.count
        func heading(_ title: String) { out.append(markdown ? "\n## \(title)\n" : "\n\(title)") }
        func line(_ text: String) { out.append(markdown ? "    \(text)" : "    \(text)") }
        func layerTitle(_ l: Int, _ activation: Activation) -> String {
            let title = "layer \(l) (\(activation.name)\(l == L ? ", output" : ""))"
            return markdown ? "**\(title)**\n" : "  \(title)"
        }
        out.append(markdown ? "# One step of backpropagation" : "One step of backpropagation")
        out.append((markdown ? "\n" : "") + "loss: \(trace.lossFunction), learning rate η = \(number(trace.learningRate))")
        out.append("x = a⁽⁰⁾ = \(values(trace.input))    target = \(values(trace.target))")

        heading("Forward pass: z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = σ(z⁽ˡ⁾)")
        for step in trace.layers {
            let l = step.number, s = superscript(l), p = superscript(l - 1)
            out.append(layerTitle(l, step.activation))
            line("W\(s) = \(values(step.weight))")
            line("b\(s) = \(values(step.bias))")
            line("z\(s) = W\(s)a\(p) + b\(s) = \(values(step.z))")
            line("a\(s) = \(step.activation.name)(z\(s)) = \(values(step.a))")
        }
        heading("Loss")
        line("\(lossFormula.loss) = \(number(trace.loss))")

        heading("Backward pass, right to left: δ⁽ˡ⁾ = ∂J/∂z⁽ˡ⁾")
        for step in trace.layers.reversed() {
            let l = step.number, s = superscript(l), p = superscript(l - 1)
            out.append(layerTitle(l, step.activation))
            if l == L && trace.usesFusedSoftmaxCrossEntropy {
                line("δ\(s) = ŷ − y = softmax(z\(s)) − y = \(values(step.delta))")
            } else {
                if l == L {
                    let derivative = lossFormula.derivative.split(separator: "{s}", omittingEmptySubsequences: false).joined(separator: s)
                    line("∂J/∂a\(s) = \(derivative) = \(values(step.gradientOfActivation))")
                } else {
                    let n = superscript(l + 1)
                    line("(W\(n))ᵀδ\(n) = \(values(step.gradientOfActivation))")
                }
                if let derivative = step.activationDerivative {
                    line("σ′(z\(s)) = \(values(derivative))")
                }
                let incoming = l == L ? "∂J/∂a\(s)" : "(W\(superscript(l + 1)))ᵀδ\(superscript(l + 1))"
                line("δ\(s) = \(incoming) ⊙ σ′(z\(s)) = \(values(step.delta))")
            }
            line("∂J/∂W\(s) = δ\(s)(a\(p))ᵀ = \(values(step.weightGradient))")
            line("∂J/∂b\(s) = δ\(s) = \(values(step.biasGradient))")
        }

        heading("Update: W ← W − η ∂J/∂W, b ← b − η ∂J/∂b")
        for step in trace.layers {
            let s = superscript(step.number)
            line("W\(s) ← \(values(step.updatedWeight))")
            line("b\(s) ← \(values(step.updatedBias))")
        }
        if losses.count > 1 {
            heading("Repeating the step: the loss falls")
            for (i, loss) in losses.enumerated() { line("step \(i + 1): J = \(number(loss))") }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The stable JSON form (`backprop.explain.v1`).
    var json: String {
        func array(_ t: Tensor<Double>) -> String {
            let v = t.scalars.map { $0.isFinite ? "\($0)" : "null" }
            guard t.rank == 2 && t.shape[0] > 1 else { return "[" + v.joined(separator: ",") + "]" }
            let columns = t.shape[1]
            return "[" + (0..<t.shape[0]).map { r in "[" + v[(r * columns)..<((r + 1) * columns)].joined(separator: ",") + "]" }.joined(separator: ",") + "]"
        }
        let layers = trace.layers.map { s in
            "{" + [
                "\"layer\":\(s.number)", "\"activation\":\"\(s.activation.name)\"",
                "\"W\":\(array(s.weight))", "\"b\":\(array(s.bias))", "\"a_previous\":\(array(s.input))",
                "\"z\":\(array(s.z))", "\"a\":\(array(s.a))", "\"dJ_da\":\(array(s.gradientOfActivation))",
                "\"sigma_prime\":\(s.activationDerivative.map(array) ?? "null")", "\"delta\":\(array(s.delta))",
                "\"dJ_dW\":\(array(s.weightGradient))", "\"dJ_db\":\(array(s.biasGradient))",
                "\"W_updated\":\(array(s.updatedWeight))", "\"b_updated\":\(array(s.updatedBias))",
            ].joined(separator: ",") + "}"
        }
        return "{" + [
            "\"format\":\"backprop.explain.v1\"", "\"loss_function\":\"\(trace.lossFunction)\"",
            "\"learning_rate\":\(trace.learningRate)", "\"input\":\(array(trace.input))", "\"target\":\(array(trace.target))",
            "\"loss\":\(trace.loss)", "\"layers\":[" + layers.joined(separator: ",") + "]",
            "\"losses\":[" + losses.map { "\($0)" }.joined(separator: ",") + "]",
        ].joined(separator: ",") + "}"
    }
}
