import ArgumentParser
import BackpropData

/// How a CSV file is read: the options every command that reads data shares.
struct CSVOptions: ParsableArguments {
    @Option(name: [.customLong("label"), .customLong("label-column")],
            help: "The CSV column holding the targets: a header name or a 0-based index (default: the model's; in training, a column named label, target, class or y, else the last).")
    var label: String?

    @Option(help: "CSV columns that are not features: comma-separated header names or 0-based indices.")
    var ignoreColumns: String?

    @Option(help: "A CSV column that identifies rows: not a feature; `predict` writes it next to each prediction.")
    var idColumn: String?

    @Option(help: "The CSV field separator: comma, semicolon or tab (default: the one the first line uses most). With semicolons or tabs, 3,5 reads as 3.5.")
    var delimiter: String?

    func validate() throws {
        _ = try parsedDelimiter()
    }

    /// The options as the data library takes them.
    func tabular() throws -> TabularOptions {
        TabularOptions(label: label.map(ColumnReference.init(parsing:)),
                       ignored: ignoreColumns.map(ColumnReference.list(parsing:)) ?? [],
                       idColumn: idColumn.map(ColumnReference.init(parsing:)), delimiter: try parsedDelimiter())
    }

    private func parsedDelimiter() throws -> Character? {
        guard let delimiter else { return nil }
        switch delimiter.lowercased() {
        case ",", "comma": return ","
        case ";", "semicolon": return ";"
        case "\t", "\\t", "tab": return "\t"
        default: throw ValidationError(unknownValue(delimiter, for: "--delimiter", valid: ["comma", "semicolon", "tab"]))
        }
    }
}

/// The message for a flag value that is not one of `valid`, with the nearest valid one when it looks like a typo.
func unknownValue(_ value: String, for flag: String, valid: [String]) -> String {
    let hint = Suggestion.nearest(to: value, in: valid).map { "did you mean '\($0)'? " } ?? ""
    return "unknown \(flag) '\(value)' (\(hint)valid: \(valid.joined(separator: ", ")))"
}

/// Prints what reading the data decided (columns skipped, rows dropped, the task) on standard error.
func printNotices(_ notices: [String]) {
    notices.forEach { printError("note: \($0)") }
}
