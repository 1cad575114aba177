import BackpropCore

/// A CSV table read as model inputs: feature columns encoded as numbers (text columns one-hot, missing cells
/// filled or their rows dropped), the target of every row, and the notices of what was decided along the way.
///
/// ``init(fitting:file:options:)`` fits the encoding to training data; ``init(table:file:model:options:)`` applies a
/// model's stored encoding to new data, matching columns by header name.
public struct TabularData: Sendable {
    /// The feature columns, in input order.
    public var columns: [FeatureColumn]
    /// `[rows, Σ column widths]`: the encoded, unscaled inputs.
    public var features: Tensor<Double>
    /// Every kept row's target cell, or `nil` when the file has no label column.
    public var targets: [String]?
    /// The label column's name, when there is one.
    public var labelName: String?
    /// The columns that were neither features nor the label (ignored by request, the id column, a row index).
    public var ignoredNames: [String]
    /// The id column's name and every kept row's value, when an id column was named.
    public var ids: (name: String, values: [String])?
    /// The line each kept row starts on (for errors about its target).
    public var lines: [Int]
    /// What was decided that the user should hear about: columns skipped, rows dropped, categories unseen.
    public var notices: [String]
    /// Whether numbers may have a decimal comma (files separated by semicolons or tabs).
    public var decimalComma: Bool

    /// The names of the inputs, in order (see ``FeatureColumn/inputNames``).
    public var inputNames: [String] { columns.flatMap(\.inputNames) }

    /// Reads training data and fits the encoding: which columns are features, which are text, what fills gaps.
    ///
    /// - Throws: ``DataError`` naming the file, line and column of a ragged row, a missing cell (with the flag
    ///   that handles it), a number that is not finite, an unknown column or a column with too many categories.
    public init(fitting table: CSVTable, file: String, options: TabularOptions) throws {
        var notices: [String] = []
        let layout = try Layout(table: table, file: file)
        decimalComma = layout.decimalComma
        let label = try layout.resolveLabel(options.label)
        let ignored = try layout.resolveIgnored(options, label: label, notices: &notices)
        let featureIndices = layout.names.indices.filter { $0 != label && !ignored.contains($0) }
        guard !featureIndices.isEmpty else {
            throw DataError.corrupt(file, reason: "no feature columns are left (columns: \(layout.names.joined(separator: ", ")))")
        }
        // Rows without a label cannot train; rows with missing features are dropped or filled as asked.
        var keep = [Bool](repeating: true, count: layout.rows.count)
        try layout.handleMissing(in: [label], keep: &keep, policy: options.missing == .error ? .error : .drop,
                                 what: "label", notices: &notices)
        try layout.handleMissing(in: featureIndices, keep: &keep, policy: options.missing, what: "value", notices: &notices)
        guard keep.contains(true) else { throw DataError.corrupt(file, reason: "no rows are left after dropping those with missing values") }

        columns = try featureIndices.map { try layout.fitColumn($0, keep: keep, fillGaps: options.missing == .mean) }
        let inputs = columns.reduce(0) { $0 + $1.width }
        guard inputs <= Limits.features else {
            throw DataError.corrupt(file, reason: "the columns make \(inputs) inputs per sample, more than the limit of \(Limits.features)")
        }
        for column in columns where column.isCategorical {
            notices.append("column '\(column.name)' holds text: one-hot encoded as \(column.width) inputs")
        }
        (features, lines) = try layout.encode(columns, at: featureIndices, keep: keep, unseen: &notices)
        targets = layout.cells(of: label, keep: keep)
        labelName = layout.names[label]
        ignoredNames = ignored.sorted().map { layout.names[$0] }
        ids = try layout.resolveId(options.idColumn, keep: keep)
        self.notices = notices
    }

    /// Reads data for a model: its feature columns are found by header name (or, in a file without a header
    /// row, by position), encoded as in training; the label column is used when present.
    ///
    /// - Parameters:
    ///   - table: the parsed CSV file.
    ///   - file: the file, named in errors.
    ///   - model: the model's stored columns, label name and ignored columns.
    ///   - options: further columns to ignore, and the id column.
    /// - Throws: ``DataError`` for a feature column that is missing, a column the model does not know, a missing
    ///   cell the model has no fill for, or a malformed cell.
    public init(table: CSVTable, file: String, model: (columns: [FeatureColumn], label: ColumnReference?, ignored: [String]),
                options: TabularOptions) throws {
        var notices: [String] = []
        let wanted = model.columns.map(\.name)
        var layout = try Layout(table: table, file: file, expecting: wanted)
        decimalComma = layout.decimalComma
        var featureIndices: [Int] = []
        if !layout.hasHeader && layout.names.count == wanted.count && !wanted.allSatisfy(layout.names.contains) {
            featureIndices = Array(layout.names.indices)  // unlabelled and headerless: the model's order
            layout.names = wanted
        } else {
            for name in wanted {
                guard let index = layout.names.firstIndex(of: name) else {
                    throw DataError.mismatch("\(file) has no column '\(name)', which the model needs"
                        + (layout.hasHeader ? " (its columns: \(layout.names.joined(separator: ", ")))" : " (the file has no header row)"))
                }
                featureIndices.append(index)
            }
        }
        // The model's label column is used when the file has it; a --label the file lacks is an error.
        let found = model.label.flatMap(layout.index(of:))
        if let requested = options.label, found == nil { _ = try layout.resolve(requested, flag: "--label") }
        let label = found.flatMap { featureIndices.contains($0) ? nil : $0 }
        var requested = options
        requested.ignored += model.ignored.filter(layout.names.contains).map(ColumnReference.name)
        let ignored = try layout.resolveIgnored(requested, label: label, notices: &notices)
        if let extra = layout.names.indices.first(where: { !featureIndices.contains($0) && $0 != label && !ignored.contains($0) }) {
            let name = layout.names[extra]
            let labelHint = label == nil ? ", or --label '\(name)' if it holds the targets" : ""
            throw DataError.mismatch("\(file): column '\(name)' is not one of the model's features "
                + "(\(wanted.joined(separator: ", "))); pass --ignore-columns '\(name)' to skip it\(labelHint)")
        }
        var keep = [Bool](repeating: true, count: layout.rows.count)
        if let label { try layout.handleMissing(in: [label], keep: &keep, policy: .error, what: "label", notices: &notices) }
        columns = model.columns
        (features, lines) = try layout.encode(columns, at: featureIndices, keep: keep, unseen: &notices)
        targets = label.map { layout.cells(of: $0, keep: keep) }
        labelName = label.map { layout.names[$0] }
        ignoredNames = ignored.sorted().map { layout.names[$0] }
        ids = try layout.resolveId(options.idColumn, keep: keep)
        self.notices = notices
    }

    /// Whether the targets are numbers that are not all small whole numbers (so `auto` means regression).
    public var targetsLookLikeRegression: Bool {
        var distinct = Set<Double>()
        for target in targets ?? [] {
            guard let value = CSVCells.number(target, decimalComma: decimalComma) else { return false }
            if value != value.rounded() || value < 0 { return true }
            distinct.insert(value)
        }
        return distinct.count > 100
    }

    /// Whether every target is a number.
    public var targetsAreNumbers: Bool {
        (targets ?? []).allSatisfy { CSVCells.number($0, decimalComma: decimalComma) != nil }
    }

    /// The distinct targets as class names in a stable order: numerically when all are numbers, else alphabetically.
    public var targetClassNames: [String] {
        let distinct = Array(Set(targets ?? []))
        let numbers = distinct.map { CSVCells.number($0, decimalComma: decimalComma) }
        if numbers.allSatisfy({ $0 != nil }) {
            return zip(distinct, numbers).sorted { ($0.1!, $0.0) < ($1.1!, $1.0) }.map(\.0)
        }
        return distinct.sorted()
    }

    /// The targets as numbers.
    ///
    /// - Throws: ``DataError`` naming the file and line of the first target that is not a finite number.
    public func targetValues(file: String) throws -> [Double] {
        try zip(targets ?? [], lines).map { target, line in
            guard let value = CSVCells.number(target, decimalComma: decimalComma), value.isFinite else {
                throw DataError.mismatch("\(file): line \(line) has target '\(target.prefix(40))' in column '\(labelName ?? "")', "
                    + "which is not a number, but the model predicts numbers")
            }
            return value
        }
    }
}
