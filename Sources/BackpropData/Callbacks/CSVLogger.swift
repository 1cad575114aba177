import BackpropNN

/// Writes every epoch's metrics to a CSV file, one row per epoch, rewriting the file atomically after each epoch
/// (so it is never half-written, and a resumed run's file holds the epochs before the interruption too).
///
/// Columns: `epoch,seconds,train_loss,train_accuracy,validation_loss,validation_accuracy,test_loss,test_accuracy,
/// learning_rate`; a value that was not measured is empty.
public struct CSVLogger: Callback, Sendable {
    /// The first line of the file.
    public static let header =
        "epoch,seconds,train_loss,train_accuracy,validation_loss,validation_accuracy,test_loss,test_accuracy,learning_rate"

    /// Where the file is written.
    public var path: String
    /// The rows so far, header first.
    public private(set) var rows: [String] = [CSVLogger.header]

    /// Creates the callback.
    public init(path: String) {
        self.path = path
    }

    public mutating func trainingBegan<Scalar>(_ training: inout TrainingControl<Scalar>) throws {
        rows = [Self.header] + training.history.map(Self.row)
    }

    public mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) throws {
        rows.append(Self.row(report))
        try write()
    }

    public mutating func trainingEnded<Scalar>(_ reason: StopReason, _ training: inout TrainingControl<Scalar>) throws {
        try write()
    }

    /// Writes the rows so far.
    public func write() throws {
        try AtomicFile.write(Array((rows.joined(separator: "\n") + "\n").utf8), to: path)
    }

    private static func row(_ r: EpochReport) -> String {
        func field(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
        return [String(r.epoch), field(r.seconds), field(r.trainingLoss), field(r.trainingAccuracy), field(r.validationLoss),
                field(r.validationAccuracy), field(r.testLoss), field(r.testAccuracy), field(r.learningRate)].joined(separator: ",")
    }
}
