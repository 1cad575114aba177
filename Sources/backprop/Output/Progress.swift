import BackpropNN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Training progress: on a terminal, a live bar per epoch and a summary line per epoch; otherwise plain per-epoch
/// lines (all of them up to 20 epochs, then every n-th); nothing when disabled.
struct ProgressDisplay {
    let enabled: Bool
    let epochs: Int
    let live = standardOutputIsTerminal
    private var epochStart = ContinuousClock.now
    private var runningLoss = 0.0
    private var lastDraw = ContinuousClock.now

    init(enabled: Bool, epochs: Int) {
        self.enabled = enabled
        self.epochs = epochs
    }

    mutating func batchEnded(_ batch: BatchReport, batchSize: Int) {
        guard enabled, live else { return }
        let now = ContinuousClock.now
        if batch.batch == 1 {
            epochStart = now
            runningLoss = batch.loss
        }
        runningLoss = 0.9 * runningLoss + 0.1 * batch.loss
        guard now - lastDraw > .milliseconds(100) || batch.batch == batch.batchCount else { return }
        lastDraw = now
        let elapsed = seconds(now - epochStart)
        let fraction = Double(batch.batch) / Double(batch.batchCount)
        let eta = fraction > 0 ? elapsed / fraction - elapsed : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let throughput = elapsed > 0 ? Double(batch.batch * batchSize) / elapsed : 0
        let line = "epoch \(batch.epoch)/\(epochs) \(bar) \(batch.batch)/\(batch.batchCount)  loss \(format(runningLoss))  "
            + "\(Int(throughput)) samples/s  ETA \(format(eta, digits: 1))s"
        print("\r\u{1B}[2K" + line, terminator: "")
        fflush(nil)  // flush every stream: the live line has no newline
    }

    mutating func epochEnded(_ report: EpochReport) {
        guard enabled else { return }
        let every = Swift.max(1, epochs / 20)
        if live {
            print("\r\u{1B}[2K", terminator: "")
        } else if !(epochs <= 20 || report.epoch <= 3 || report.epoch % every == 0 || report.epoch == epochs) {
            return
        }
        print(EpochLine(report: report, epochs: epochs).text)
        fflush(nil)  // a log file or pipe sees each epoch as it ends
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}

/// One line summarising an epoch.
struct EpochLine {
    let report: EpochReport
    let epochs: Int

    var text: String {
        var parts = ["epoch \(report.epoch)/\(epochs)", "loss \(format(report.trainingLoss))"]
        if let accuracy = report.trainingAccuracy { parts.append("accuracy \(percent(accuracy))") }
        if let loss = report.validationLoss { parts.append("val_loss \(format(loss))") }
        if let accuracy = report.validationAccuracy { parts.append("val_accuracy \(percent(accuracy))") }
        if let loss = report.testLoss { parts.append("test_loss \(format(loss))") }
        if let accuracy = report.testAccuracy { parts.append("test_accuracy \(percent(accuracy))") }
        parts.append("lr \(report.learningRate)")
        parts.append("\(format(report.seconds, digits: 3))s")
        return parts.joined(separator: "  ")
    }
}
