import BackpropNN

/// A confusion matrix as an aligned text table, with per-class precision, recall and F1.
struct ConfusionTable {
    let metrics: ClassificationMetrics
    let classNames: [String]

    var text: String {
        let labels = classNames.map { String($0.prefix(12)) }
        let width = Swift.max(6, (labels.map(\.count).max() ?? 0) + 1, String(metrics.total).count + 1)
        func pad(_ s: String) -> String { String(repeating: " ", count: Swift.max(0, width - s.count)) + s }
        var lines = ["confusion matrix (rows: actual, columns: predicted)"]
        lines.append(pad("") + labels.map(pad).joined())
        for (i, row) in metrics.confusion.enumerated() {
            lines.append(pad(labels[i]) + row.map { pad(String($0)) }.joined())
        }
        lines.append("per class: precision, recall, F1")
        for i in 0..<metrics.classCount {
            lines.append(pad(labels[i]) + "  " + [metrics.precision(of: i), metrics.recall(of: i), metrics.f1(of: i)]
                .map { format($0, digits: 3) }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }
}
