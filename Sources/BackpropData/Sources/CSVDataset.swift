import BackpropCore
import BackpropNN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which CSV column holds the targets.
public enum LabelColumn: Sendable, Equatable, CustomStringConvertible {
    /// The column with this header name.
    case name(String)
    /// The column at this 0-based index; negative counts from the end (`-1`, the default, is the last).
    case index(Int)

    /// Parses a flag value: an integer is an index, anything else a name.
    public init(parsing text: String) {
        self = Int(text).map(LabelColumn.index) ?? .name(text)
    }

    public var description: String {
        switch self {
        case .name(let name): "'\(name)'"
        case .index(let index): "\(index)"
        }
    }
}

/// A CSV file read as numeric features and a target column.
public struct CSVData: Sendable {
    /// The feature columns' names (from the header, or `column1`…).
    public var featureNames: [String]
    /// `[rows, features]` raw (unscaled) values.
    public var features: Tensor<Double>
    /// The target of every row: class names for classification, or numbers for regression; empty for unlabelled
    /// data.
    public var rawTargets: [String]
    /// Whether the file had a header row.
    public var hasHeader: Bool

    /// Reads a CSV file. A first row whose feature fields are not all numbers is taken as the header.
    ///
    /// - Throws: ``DataError`` naming the file, line and column of a ragged row or a missing or non-numeric
    ///   feature.
    public init(contentsOf path: String, labelColumn: LabelColumn = .index(-1)) throws {
        let bytes = try FileBytes.read(path, limit: CSVData.sizeLimit)
        try self.init(table: try CSVTable(bytes: bytes, file: path), file: path, labelColumn: labelColumn)
    }

    /// Interprets a parsed table.
    ///
    /// - Parameter labelColumn: the target column, or `nil` for unlabelled data (every column a feature; for
    ///   prediction).
    public init(table: CSVTable, file: String, labelColumn: LabelColumn?) throws {
        guard let first = table.rows.first else { throw DataError.corrupt(file, reason: "no rows") }
        let width = first.fields.count
        guard width >= (labelColumn == nil ? 1 : 2) else {
            throw DataError.corrupt(file, reason: "line \(first.line): \(width) column; need at least one feature and a label")
        }
        hasHeader = first.fields.contains { Double($0) == nil && !$0.isEmpty } && !Self.isDataRow(first.fields, table.rows.dropFirst().first?.fields)
        let header = hasHeader ? first.fields : (1...width).map { "column\($0)" }
        let label: Int  // -1: no label column
        switch labelColumn {
        case nil:
            label = -1
        case .name(let name):
            guard hasHeader, let index = header.firstIndex(of: name) else {
                throw DataError.corrupt(file, reason: hasHeader
                    ? "no column named '\(name)' (columns: \(header.joined(separator: ", ")))"
                    : "the file has no header row, so --label-column must be an index, not '\(name)'")
            }
            label = index
        case .index(let index):
            let resolved = index < 0 ? width + index : index
            guard (0..<width).contains(resolved) else {
                throw DataError.corrupt(file, reason: "label column \(index) is outside the \(width) columns")
            }
            label = resolved
        }
        var values: [Double] = []
        var targets: [String] = []
        let dataRows = hasHeader ? table.rows.dropFirst() : table.rows[...]
        let featureCount = label >= 0 ? width - 1 : width
        values.reserveCapacity(dataRows.count * featureCount)
        for row in dataRows {
            guard row.fields.count == width else {
                throw DataError.corrupt(file, reason: "line \(row.line): \(row.fields.count) fields, expected \(width) like line \(first.line)")
            }
            for (column, field) in row.fields.enumerated() where column != label {
                guard !field.isEmpty else {
                    throw DataError.corrupt(file, reason: "line \(row.line), column \(column + 1) ('\(header[column])'): missing value")
                }
                guard let value = Double(field), value.isFinite else {
                    throw DataError.corrupt(file, reason: "line \(row.line), column \(column + 1) ('\(header[column])'): '\(field.prefix(40))' is not a finite number")
                }
                values.append(value)
            }
            guard label >= 0 else { continue }
            guard !row.fields[label].isEmpty else {
                throw DataError.corrupt(file, reason: "line \(row.line), column \(label + 1) ('\(header[label])'): missing label")
            }
            targets.append(row.fields[label])
        }
        guard !dataRows.isEmpty else { throw DataError.corrupt(file, reason: "a header but no data rows") }
        featureNames = header.enumerated().filter { $0.offset != label }.map(\.element)
        features = Tensor(shape: [dataRows.count, featureCount], elements: values)
        rawTargets = targets
    }

    /// The largest CSV file read: parsed fields take many times the file's size, so files beyond 1/32 of this
    /// machine's memory (and beyond 1 GiB) are refused before they are read.
    public static var sizeLimit: Int {
        let memory = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        return Swift.max(1 << 20, Swift.min(1 << 30, memory / 32))
    }

    /// Whether the targets are numbers that are not all small whole numbers (so the task is regression).
    public var looksLikeRegression: Bool {
        let numbers = rawTargets.compactMap(Double.init)
        guard numbers.count == rawTargets.count else { return false }
        let whole = numbers.allSatisfy { $0 == $0.rounded() && $0 >= 0 }
        return !(whole && Set(numbers).count <= 100)
    }

    /// The distinct class names in a stable order: numerically for numbers, else alphabetically.
    public var classNames: [String] {
        let distinct = Array(Set(rawTargets))
        if distinct.allSatisfy({ Double($0) != nil }) {
            return distinct.sorted { Double($0)! < Double($1)! }
        }
        return distinct.sorted()
    }

    private static func isDataRow(_ fields: [String], _ next: [String]?) -> Bool {
        // A first row counts as data when it is all numbers apart from one field and the second row has the same
        // non-numeric field position (a string label column).
        guard let next else { return false }
        let nonNumeric = fields.indices.filter { Double(fields[$0]) == nil }
        return nonNumeric.count == 1 && next.indices.contains(nonNumeric[0]) && Double(next[nonNumeric[0]]) == nil
            && fields.count == next.count
            && fields.indices.filter { Double(next[$0]) == nil } == nonNumeric
    }
}
