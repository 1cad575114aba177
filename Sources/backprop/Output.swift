import BackpropData
import BackpropNN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of training progress.
struct EpochLine {
    let report: EpochReport
    let epochs: Int

    var text: String {
        var parts = ["epoch \(report.epoch)/\(epochs)", "loss \(format(report.trainingLoss))"]
        if let accuracy = report.trainingAccuracy { parts.append("accuracy \(percent(accuracy))") }
        if let loss = report.validationLoss { parts.append("val_loss \(format(loss))") }
        if let accuracy = report.validationAccuracy { parts.append("val_accuracy \(percent(accuracy))") }
        parts.append("lr \(report.learningRate)")
        parts.append("\(format(report.seconds, digits: 3))s")
        return parts.joined(separator: "  ")
    }
}

/// Per-epoch metrics, written as CSV.
struct MetricsLog {
    private var rows: [String] = ["epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds"]

    mutating func append(_ r: EpochReport) {
        func field(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
        rows.append([String(r.epoch), field(r.trainingLoss), field(r.trainingAccuracy), field(r.validationLoss),
                     field(r.validationAccuracy), field(r.learningRate), field(r.seconds)].joined(separator: ","))
    }

    /// Writes the file atomically: a temporary file in the same directory, then a rename.
    func write(to path: String) throws {
        try AtomicFile.write(Array((rows.joined(separator: "\n") + "\n").utf8), to: path)
    }
}

/// Formats a value with a fixed number of decimals.
func format(_ value: Double, digits: Int = 4) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if let dot = text.firstIndex(of: "."), !text.contains("e") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    }
    return text
}

/// Formats a fraction as a percentage with two decimals.
func percent(_ fraction: Double) -> String { format(fraction * 100, digits: 2) + "%" }

/// Writes a line to standard error.
func printError(_ message: String) {
    let bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
