import BackpropNN

/// An SVG chart of a training history: loss per epoch on the left, accuracy on the right (classification only),
/// one line each for training, validation and test data, with axes, ticks, labels and a legend.
struct TrainingChart {
    let history: [EpochReport]

    private struct Series {
        let name: String
        let colour: String
        let points: [(Double, Double)]
    }

    private let panelWidth = 420.0, panelHeight = 300.0
    private let margin = (left: 64.0, right: 16.0, top: 36.0, bottom: 48.0)

    var svg: String {
        let epochs = history.map { Double($0.epoch) }
        func series(_ name: String, _ colour: String, _ value: (EpochReport) -> Double?) -> Series {
            Series(name: name, colour: colour, points: zip(epochs, history.map(value)).compactMap { x, y in
                y.flatMap { $0.isFinite ? (x, $0) : nil }
            })
        }
        let losses = [series("training", "#1f77b4", \.trainingLoss), series("validation", "#ff7f0e", \.validationLoss),
                      series("test", "#2ca02c", \.testLoss)].filter { !$0.points.isEmpty }
        let accuracies = [series("training", "#1f77b4", { $0.trainingAccuracy.map { $0 * 100 } }),
                          series("validation", "#ff7f0e", { $0.validationAccuracy.map { $0 * 100 } }),
                          series("test", "#2ca02c", { $0.testAccuracy.map { $0 * 100 } })].filter { !$0.points.isEmpty }
        let panels = accuracies.isEmpty ? 1 : 2
        let width = panelWidth * Double(panels)
        var body = panel(title: "Loss per epoch", yLabel: "loss", series: losses, x: 0, legendAtTop: true)
        if !accuracies.isEmpty {
            // Accuracy rises toward the top right, so its legend goes at the bottom.
            body += panel(title: "Accuracy per epoch", yLabel: "accuracy (%)", series: accuracies, x: panelWidth, legendAtTop: false)
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(panelHeight))" \
            viewBox="0 0 \(Int(width)) \(Int(panelHeight))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            \(body)</svg>

            """
    }

    private func panel(title: String, yLabel: String, series: [Series], x originX: Double, legendAtTop: Bool) -> String {
        let left = originX + margin.left, right = originX + panelWidth - margin.right
        let top = margin.top, bottom = panelHeight - margin.bottom
        let xs = series.flatMap { $0.points.map(\.0) }, ys = series.flatMap { $0.points.map(\.1) }
        let xTicks = Self.ticks(from: xs.min() ?? 1, to: Swift.max(xs.max() ?? 1, (xs.min() ?? 1) + 1), integers: true)
        let yTicks = Self.ticks(from: ys.min() ?? 0, to: ys.max() ?? 1, integers: false)
        let (x0, x1) = (xTicks.first!, xTicks.last!), (y0, y1) = (yTicks.first!, yTicks.last!)
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (right - left) }
        func py(_ y: Double) -> Double { bottom - (y - y0) / (y1 - y0) * (bottom - top) }
        var out = "<text x=\"\(f(originX + panelWidth / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(title)</text>\n"
        for t in yTicks {
            out += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(right))\" y2=\"\(f(py(t)))\" stroke=\"#e5e5e5\"/>\n"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(Self.label(t))</text>\n"
        }
        for t in xTicks {
            out += "<line x1=\"\(f(px(t)))\" y1=\"\(f(bottom))\" x2=\"\(f(px(t)))\" y2=\"\(f(bottom + 5))\" stroke=\"black\"/>\n"
            out += "<text x=\"\(f(px(t)))\" y=\"\(f(bottom + 18))\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
        }
        out += "<path d=\"M\(f(left)),\(f(top)) V\(f(bottom)) H\(f(right))\" fill=\"none\" stroke=\"black\"/>\n"
        out += "<text x=\"\(f((left + right) / 2))\" y=\"\(f(panelHeight - 10))\" text-anchor=\"middle\">epoch</text>\n"
        out += "<text transform=\"translate(\(f(originX + 16)),\(f((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(yLabel)</text>\n"
        for s in series {
            let path = s.points.enumerated().map { ($0.offset == 0 ? "M" : "L") + "\(f(px($0.element.0))),\(f(py($0.element.1)))" }.joined(separator: " ")
            out += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(s.colour)\" stroke-width=\"2\"/>\n"
            if s.points.count == 1, let p = s.points.first {
                out += "<circle cx=\"\(f(px(p.0)))\" cy=\"\(f(py(p.1)))\" r=\"3\" fill=\"\(s.colour)\"/>\n"
            }
        }
        for (i, s) in series.enumerated() {
            let y = legendAtTop ? top + 8 + Double(i) * 16 : bottom - 12 - Double(series.count - 1 - i) * 16
            out += "<line x1=\"\(f(right - 110))\" y1=\"\(f(y))\" x2=\"\(f(right - 90))\" y2=\"\(f(y))\" stroke=\"\(s.colour)\" stroke-width=\"2\"/>\n"
            out += "<text x=\"\(f(right - 84))\" y=\"\(f(y + 4))\">\(s.name)</text>\n"
        }
        return out
    }

    /// About five evenly spaced round values covering `from...to`.
    static func ticks(from low: Double, to high: Double, integers: Bool) -> [Double] {
        var (lo, hi) = (low, high)
        if hi - lo < 1e-12 { (lo, hi) = (lo - 0.5, hi + 0.5) }
        let raw = (hi - lo) / 5
        var magnitude = 1.0
        while magnitude * 10 <= raw { magnitude *= 10 }
        while magnitude > raw { magnitude /= 10 }
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw }.map { integers ? Swift.max(1, $0.rounded()) : $0 } ?? magnitude
        let start = (lo / step).rounded(.down) * step
        var result: [Double] = []
        var t = start
        while t < hi + step * 0.999 {
            result.append(t)
            t += step
        }
        return result.count >= 2 ? result : [start, start + step]
    }

    static func label(_ value: Double) -> String {
        if value == value.rounded() && Swift.abs(value) < 1e6 { return String(Int(value)) }
        return format(value, digits: Swift.abs(value) < 0.01 ? 4 : (Swift.abs(value) < 1 ? 3 : 2))
    }

    private func f(_ value: Double) -> String { format(value, digits: 1) }
}
