import BackpropNN

/// The per-layer gradient health table printed by `backprop train --gradient-report`.
struct GradientReport {
    let report: EpochReport
    let deadUnits: [(layer: Int, fraction: Double)]
    /// ‖g − g₃₂‖ / ‖g₃₂‖ of a reduced-precision step's gradients by parameter name; empty for Float32 products.
    var precisionErrors: [String: Double] = [:]

    var text: String {
        var lines = ["  gradient health after epoch \(report.epoch):",
                     "    parameter        ‖∂J/∂W‖       ‖W‖     ‖ΔW‖/‖W‖   dead units"
                        + (precisionErrors.isEmpty ? "" : "   vs float32")]
        for health in report.parameterHealth where health.name.hasSuffix("weight") {
            let layer = Int(health.name.split(separator: ".")[0]) ?? -1
            // The activation after this dense layer is the next layer.
            let dead = deadUnits.first { $0.layer == layer + 1 }.map { percent($0.fraction) } ?? "—"
            lines.append("    " + [health.name.padded(14), scientific(health.gradientNorm).padded(11, left: true),
                                   scientific(health.weightNorm).padded(10, left: true),
                                   scientific(health.updateRatio).padded(11, left: true), dead.padded(11, left: true)].joined(separator: "  ")
                         + (precisionErrors[health.name].map { "  " + scientific($0).padded(11, left: true) } ?? ""))
        }
        return lines.joined(separator: "\n")
    }

    private func scientific(_ x: Double) -> String {
        guard x.isFinite, x != 0 else { return "\(x)" }
        var exponent = 0
        var mantissa = Swift.abs(x)
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        while mantissa < 1 { mantissa *= 10; exponent -= 1 }
        return (x < 0 ? "-" : "") + format(mantissa, digits: 2) + "e" + String(exponent)
    }
}

extension String {
    fileprivate func padded(_ width: Int, left: Bool = false) -> String {
        let pad = String(repeating: " ", count: Swift.max(0, width - count))
        return left ? pad + self : self + pad
    }
}
