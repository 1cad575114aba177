import BackpropCore

/// A CSV column named on the command line: by its header name or by its position.
public enum ColumnReference: Sendable, Equatable, CustomStringConvertible {
    /// The column with this header name.
    case name(String)
    /// The column at this 0-based index; negative counts from the end (`-1` is the last).
    case index(Int)

    /// Parses a flag value: an integer is an index, anything else a name.
    public init(parsing text: String) {
        self = Int(text).map(ColumnReference.index) ?? .name(text)
    }

    /// Parses a comma-separated list of references (`a,b,3`); empty parts are skipped.
    public static func list(parsing text: String) -> [ColumnReference] {
        text.split(separator: ",").map { ColumnReference(parsing: String($0).trimmingSpaces) }
    }

    public var description: String {
        switch self {
        case .name(let name): "'\(name)'"
        case .index(let index): "\(index)"
        }
    }
}

/// How a CSV file is read: which columns are the label, which are skipped, what missing cells and the task are.
public struct TabularOptions: Sendable, Equatable {
    /// What to do with missing cells (empty, `NA`, `NaN`, `?`, …).
    public enum MissingValues: String, Sendable, CaseIterable {
        /// Stop with an error saying how many there are and where the first is (the default).
        case error
        /// Skip the rows that have one.
        case drop
        /// Fill a number column's gaps with its mean and a text column's with its most frequent value, both
        /// measured on the training data and stored with the model (so prediction fills the same way).
        case mean
    }

    /// Whether the targets are classes or numbers.
    public enum Task: String, Sendable, CaseIterable {
        /// Numbers that are not all small whole numbers mean regression; anything else classification.
        case auto
        /// Every distinct target is a class, numbers too.
        case classification
        /// Targets are numbers to predict (whole numbers too).
        case regression
    }

    /// The target column; `nil` takes a column named `label`, `target`, `class` or `y` (in that order, any case),
    /// else the last.
    public var label: ColumnReference?
    /// Columns that are neither features nor the label.
    public var ignored: [ColumnReference]
    /// A column that identifies rows: not a feature, and copied into `backprop predict`'s output.
    public var idColumn: ColumnReference?
    /// What to do with missing cells.
    public var missing: MissingValues
    /// Classification, regression, or detected from the targets.
    public var task: Task
    /// The field separator; `nil` detects it from the first line.
    public var delimiter: Character?

    /// Describes how to read a file.
    public init(label: ColumnReference? = nil, ignored: [ColumnReference] = [], idColumn: ColumnReference? = nil,
                missing: MissingValues = .error, task: Task = .auto, delimiter: Character? = nil) {
        self.label = label
        self.ignored = ignored
        self.idColumn = idColumn
        self.missing = missing
        self.task = task
        self.delimiter = delimiter
    }

    /// The header names the default label column is looked for under, in order of preference.
    public static let conventionalLabelNames = ["label", "target", "class", "y"]
}
