import BackpropCore
import BackpropNN

/// Renders a ``LayerTrace`` (a network that is not only dense layers) as text, Markdown or JSON, in the notation of
/// ``ExplainRenderer``: a⁽ˡ⁾ is layer l's output, δ⁽ˡ⁾ = ∂J/∂a⁽ˡ⁾ the gradient arriving at it from the right.
struct LayerTraceRenderer {
    let trace: LayerTrace<Double>
    let losses: [Double]
    let full: Bool

    private var values: ExplainRenderer.Values { ExplainRenderer.Values(full: full) }

    /// What a layer computes, in the textbook's notation.
    private func forwardFormula(_ step: LayerTrace<Double>.Step) -> String {
        let s = superscript(step.number), p = superscript(step.number - 1)
        switch step.kind {
        case "conv2d":
            let bias = step.parameters.count > 1 ? " + b\(s)" : ""
            return "a\(s) = W\(s) ⋆ a\(p)\(bias)   (cross-correlation: a[o,i,j] = Σ W[o,c,p,q]·a[c,i+p,j+q]\(bias.isEmpty ? "" : " + b[o]"))"
        case "dense": return "a\(s) = W\(s)a\(p) + b\(s)"
        case "maxpool2d": return "a\(s) = the largest a\(p) of each window"
        case "avgpool2d": return "a\(s) = the mean of a\(p) over each window"
        case "global-avgpool": return "a\(s) = the mean of each channel of a\(p)"
        case "flatten": return "a\(s) = a\(p) as one vector (channel by channel, row by row)"
        case "dropout": return "a\(s) = a\(p)   (dropout is off outside training)"
        case "batchnorm": return "a\(s) = γ (a\(p) − running mean)/√(running var + ε) + β"
        case "layernorm": return "a\(s) = γ (a\(p) − mean)/√(var + ε) + β, over the sample"
        case "activation": return "a\(s) = \(step.activation?.name ?? "σ")(a\(p))"
        default: return "a\(s) = layer(a\(p))"
        }
    }

    /// What the layer passes back, in the textbook's notation.
    private func backwardFormula(_ step: LayerTrace<Double>.Step) -> String {
        let s = superscript(step.number), p = superscript(step.number - 1)
        switch step.kind {
        case "conv2d": return "∂J/∂a\(p) = δ\(s) ⋆ rot180(W\(s)), the full correlation with the flipped kernel"
        case "dense": return "∂J/∂a\(p) = (W\(s))ᵀδ\(s)"
        case "maxpool2d": return "∂J/∂a\(p) = δ\(s) at each window's largest input, 0 elsewhere"
        case "avgpool2d": return "∂J/∂a\(p) = δ\(s) spread evenly over each window"
        case "global-avgpool": return "∂J/∂a\(p) = δ\(s) / (height·width) at every pixel"
        case "flatten": return "∂J/∂a\(p) = δ\(s) reshaped back"
        case "activation": return "∂J/∂a\(p) = δ\(s) ⊙ \(step.activation?.name ?? "σ")′(a\(p))"
        case "dropout": return "∂J/∂a\(p) = δ\(s)   (passed through outside training)"
        case "batchnorm": return "∂J/∂a\(p) = δ\(s) ⊙ γ/√(running var + ε)"
        default: return "∂J/∂a\(p) = δ\(s) · ∂a\(s)/∂a\(p)"
        }
    }

    func text(markdown: Bool) -> String {
        var out: [String] = []
        let last = trace.steps.count
        func heading(_ title: String) { out.append(markdown ? "\n## \(title)\n" : "\n\(title)") }
        func line(_ text: String) { out.append("    \(text)") }
        func title(_ step: LayerTrace<Double>.Step) {
            let text = "layer \(step.number): \(step.layer)\(step.number == last ? ", output" : "")"
            out.append(markdown ? "**\(text)**\n" : "  \(text)")
        }
        out.append(markdown ? "# One step of backpropagation" : "One step of backpropagation")
        out.append((markdown ? "\n" : "") + "loss: \(trace.lossFunction), learning rate η = \(values.number(trace.learningRate))")
        out.append("x = a⁽⁰⁾ = \(values(trace.input))    target = \(values(trace.target))")

        heading("Forward pass: a⁽ˡ⁾ = layerₗ(a⁽ˡ⁻¹⁾)")
        for step in trace.steps {
            title(step)
            let s = superscript(step.number)
            for parameter in step.parameters {
                line("\(symbol(parameter.name, of: step))\(s) = \(values(parameter.value))")
            }
            line("\(forwardFormula(step)) = \(values(step.output))")
        }
        heading("Loss")
        line("J = \(values.number(trace.loss))")

        heading("Backward pass, right to left: δ⁽ˡ⁾ = ∂J/∂a⁽ˡ⁾")
        for step in trace.steps.reversed() {
            title(step)
            let s = superscript(step.number), p = superscript(step.number - 1)
            line("δ\(s) = ∂J/∂a\(s) = \(values(step.outputGradient))")
            for parameter in step.parameters {
                let formula = switch (step.kind, parameter.name) {
                case ("conv2d", "weight"): "a\(p) ⋆ δ\(s)  (the input correlated with δ)"
                case ("conv2d", "bias"): "Σ over pixels of δ\(s)"
                case ("dense", "weight"): "δ\(s)(a\(p))ᵀ"
                case ("dense", "bias"): "δ\(s)"
                case ("batchnorm", "weight"), ("layernorm", "weight"): "Σ δ\(s) ⊙ x̂  (x̂ the normalised input)"
                case ("batchnorm", "bias"), ("layernorm", "bias"): "Σ δ\(s)"
                default: "∂J/∂\(symbol(parameter.name, of: step))"
                }
                line("∂J/∂\(symbol(parameter.name, of: step))\(s) = \(formula) = \(values(parameter.gradient))")
            }
            line("\(backwardFormula(step)) = \(values(step.inputGradient))")
            if let flipped = step.flippedKernelInputGradient {
                let difference = (flipped - step.inputGradient).detached.scalars.map(Swift.abs).max() ?? 0
                line("    computed as that correlation: \(values(flipped)); largest difference from the engine's: \(values.number(difference))")
            }
        }

        heading("Update: θ ← θ − η ∂J/∂θ")
        for step in trace.steps {
            for parameter in step.parameters {
                line("\(symbol(parameter.name, of: step))\(superscript(step.number)) ← \(values(parameter.updated))")
            }
        }
        if losses.count > 1 {
            heading("Repeating the step: the loss falls")
            for (i, loss) in losses.enumerated() { line("step \(i + 1): J = \(values.number(loss))") }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The JSON form (`backprop.explain.layers.v1`): every tensor as `{"shape": […], "values": […]}`.
    var json: String {
        func tensor(_ t: Tensor<Double>) -> String {
            "{\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"values\":["
                + t.scalars.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ",") + "]}"
        }
        let layers = trace.steps.map { s in
            let parameters = s.parameters.map { p in
                "\"\(p.name)\":{\"value\":\(tensor(p.value)),\"gradient\":\(tensor(p.gradient)),\"updated\":\(tensor(p.updated))}"
            }
            return "{" + [
                "\"layer\":\(s.number)", "\"kind\":\"\(s.kind)\"", "\"description\":\"\(s.layer)\"",
                "\"input\":\(tensor(s.input))", "\"output\":\(tensor(s.output))",
                "\"dJ_doutput\":\(tensor(s.outputGradient))", "\"dJ_dinput\":\(tensor(s.inputGradient))",
                "\"parameters\":{" + parameters.joined(separator: ",") + "}",
                "\"dJ_dinput_flipped_kernel\":\(s.flippedKernelInputGradient.map(tensor) ?? "null")",
            ].joined(separator: ",") + "}"
        }
        return "{" + [
            "\"format\":\"backprop.explain.layers.v1\"", "\"loss_function\":\"\(trace.lossFunction)\"",
            "\"learning_rate\":\(trace.learningRate)", "\"input\":\(tensor(trace.input))", "\"target\":\(tensor(trace.target))",
            "\"loss\":\(trace.loss)", "\"layers\":[" + layers.joined(separator: ",") + "]",
            "\"losses\":[" + losses.map { "\($0)" }.joined(separator: ",") + "]",
        ].joined(separator: ",") + "}"
    }

    /// A parameter's symbol: W and b, or γ and β for a normalisation's scale and offset.
    private func symbol(_ name: String, of step: LayerTrace<Double>.Step) -> String {
        let normalization = step.kind == "batchnorm" || step.kind == "layernorm"
        switch name {
        case "weight": return normalization ? "γ" : "W"
        case "bias": return normalization ? "β" : "b"
        default: return name
        }
    }
}
