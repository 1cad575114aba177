import BackpropCore

/// A CSV table's rows and column names, and the steps ``TabularData`` reads them with: finding columns, handling
/// missing cells, fitting and applying column encodings.
struct Layout {
    let file: String
    /// The data rows (the header row removed), each with the line it starts on.
    let rows: [(line: Int, fields: [String])]
    /// One name per column: the header's, or `columnN` (1-based).
    var names: [String]
    let hasHeader: Bool
    /// The columns whose header cell is empty (named `columnN` here).
    let unnamed: Set<Int>
    let decimalComma: Bool

    /// Splits off the header row (detected, or known to be one when it holds every name in `expecting`) and checks
    /// that every row has the header's width.
    init(table: CSVTable, file: String, expecting: [String]? = nil) throws {
        guard let first = table.rows.first else { throw DataError.corrupt(file, reason: "no rows") }
        self.file = file
        decimalComma = table.delimiter != ","
        let width = first.fields.count
        for row in table.rows where row.fields.count != width {
            throw DataError.corrupt(file, reason: "line \(row.line): \(row.fields.count) fields, expected \(width) like line \(first.line)")
        }
        let namesAllThere = expecting.map { !$0.isEmpty && $0.allSatisfy(first.fields.contains) } ?? false
        hasHeader = namesAllThere || CSVCells.firstRowIsHeader(table.rows[...], decimalComma: decimalComma)
        rows = Array(hasHeader ? table.rows.dropFirst() : table.rows[...])
        guard !rows.isEmpty else { throw DataError.corrupt(file, reason: "a header but no data rows") }
        guard rows.count <= Limits.samples else {
            throw DataError.corrupt(file, reason: "\(rows.count) rows, more than the limit of \(Limits.samples) samples")
        }
        let header = hasHeader ? first.fields : [String](repeating: "", count: width)
        unnamed = Set(header.indices.filter { header[$0].isEmpty })
        names = header.enumerated().map { $1.isEmpty ? "column\($0 + 1)" : $1 }
        var seen: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            if let earlier = seen[name] {
                throw DataError.corrupt(file, reason: "line \(first.line): columns \(earlier + 1) and \(index + 1) are both named '\(name)'")
            }
            seen[name] = index
        }
    }

    /// The 0-based index of a referenced column, if the file has it.
    func index(of reference: ColumnReference) -> Int? {
        switch reference {
        case .name(let name): return names.firstIndex(of: name)
        case .index(let index):
            let resolved = index < 0 ? names.count + index : index
            return names.indices.contains(resolved) ? resolved : nil
        }
    }

    /// The 0-based index of a referenced column.
    func resolve(_ reference: ColumnReference, flag: String) throws -> Int {
        if let index = index(of: reference) { return index }
        switch reference {
        case .name(let name):
            let hint = Suggestion.nearest(to: name, in: names).map { "; did you mean '\($0)'?" } ?? ""
            throw DataError.mismatch(hasHeader
                ? "\(file) has no column named '\(name)' for \(flag) (columns: \(names.joined(separator: ", ")))\(hint)"
                : "\(file) has no header row, so \(flag) must be a 0-based index, not '\(name)'")
        case .index(let index):
            throw DataError.mismatch("\(flag) \(index) is outside the \(names.count) columns of \(file)")
        }
    }

    /// The label column: as referenced, else one named like a label, else the last.
    func resolveLabel(_ reference: ColumnReference?) throws -> Int {
        if let reference { return try resolve(reference, flag: "--label") }
        guard names.count >= 2 else {
            throw DataError.corrupt(file, reason: "1 column; need at least one feature and a label")
        }
        for conventional in TabularOptions.conventionalLabelNames {
            if let index = names.firstIndex(where: { $0.lowercased() == conventional }) { return index }
        }
        return names.count - 1
    }

    /// The columns that are neither features nor the label: those asked for, the id column, and a first column
    /// without a name that holds distinct whole numbers (the row index `DataFrame.to_csv()` writes).
    func resolveIgnored(_ options: TabularOptions, label: Int?, notices: inout [String]) throws -> Set<Int> {
        var ignored = Set(try options.ignored.map { try resolve($0, flag: "--ignore-columns") })
        if let id = options.idColumn { ignored.insert(try resolve(id, flag: "--id-column")) }
        if let label, ignored.contains(label) {
            throw DataError.mismatch("column '\(names[label])' is the label, so it cannot be ignored or be the id column")
        }
        if hasHeader, label != 0, !ignored.contains(0), unnamed.contains(0) || names[0] == "Unnamed: 0", isRowIndex(column: 0) {
            ignored.insert(0)
            notices.append("column 1 has no name and holds distinct whole numbers (a saved row index): not used as a feature")
        }
        return ignored
    }

    private func isRowIndex(column: Int) -> Bool {
        var seen = Set<Int>()
        for row in rows {
            guard let value = Int(row.fields[column]), value >= 0, seen.insert(value).inserted else { return false }
        }
        return true
    }

    /// Finds missing cells in `columns` among the kept rows: an error that counts them and says where the first
    /// is, or the rows dropped (`drop`), or nothing done yet (`mean`: the encoding fills them).
    func handleMissing(in columns: [Int], keep: inout [Bool], policy: TabularOptions.MissingValues, what: String,
                       notices: inout [String]) throws {
        var count = 0, dropped = 0
        var first: (line: Int, column: Int)?
        for (r, row) in rows.enumerated() where keep[r] {
            guard let column = columns.first(where: { CSVCells.isMissing(row.fields[$0]) }) else { continue }
            count += columns.count { CSVCells.isMissing(row.fields[$0]) }
            if first == nil { first = (row.line, column) }
            if policy == .drop {
                keep[r] = false
                dropped += 1
            }
        }
        guard let first else { return }
        let place = "the first at line \(first.line), column \(first.column + 1) ('\(names[first.column])')"
        switch policy {
        case .error:
            let fix = what == "label"
                ? "pass --missing drop to skip those rows"
                : "pass --missing drop to skip those rows, or --missing mean to fill them with the column's mean (its most frequent value for text)"
            throw DataError.corrupt(file, reason: "\(count) missing \(what)\(count == 1 ? "" : "s") (\(place)); \(fix)")
        case .drop:
            notices.append("dropped \(dropped) row\(dropped == 1 ? "" : "s") with a missing \(what) (\(place))")
        case .mean:
            notices.append("filled \(count) missing value\(count == 1 ? "" : "s") with the column's mean or most frequent value (\(place))")
        }
    }

    /// Decides a column's encoding from the kept rows: numbers, or text (one input per distinct value), with the
    /// fill for missing cells when `fillGaps`.
    func fitColumn(_ column: Int, keep: [Bool], fillGaps: Bool) throws -> FeatureColumn {
        var present = 0, numeric = 0, sum = 0.0
        var firstText: Int?  // the first kept row whose cell is text
        for r in rows.indices where keep[r] {
            let cell = rows[r].fields[column]
            if CSVCells.isMissing(cell) { continue }
            present += 1
            if let value = CSVCells.number(cell, decimalComma: decimalComma) {
                numeric += 1
                sum += value
            } else if firstText == nil {
                firstText = r
            }
        }
        guard present > 0 else {
            throw DataError.corrupt(file, reason: "column \(column + 1) ('\(names[column])') has no values; ignore it with --ignore-columns")
        }
        // A column of numbers with a few stray texts is a number column with mistakes, not a text column.
        if 2 * numeric >= present {
            if let r = firstText {
                throw DataError.corrupt(file, reason: "line \(rows[r].line), column \(column + 1) ('\(names[column])'): "
                    + "'\(rows[r].fields[column].prefix(40))' is not a finite number, though most of the column is; "
                    + "correct it, or mark it missing (NA)")
            }
            let fill = fillGaps ? sum / Double(numeric) : nil
            return FeatureColumn(name: names[column], encoding: .numeric(fill: fill?.isFinite == true ? fill : nil))
        }
        let cells = self.cells(of: column, keep: keep).filter { !CSVCells.isMissing($0) }
        var counts: [String: Int] = [:]
        for cell in cells { counts[cell, default: 0] += 1 }
        guard counts.count <= Limits.csvCategories else {
            throw DataError.corrupt(file, reason: "column \(column + 1) ('\(names[column])') holds \(counts.count) distinct texts, "
                + "more than the \(Limits.csvCategories) categories a column may have; if it identifies rows, "
                + "pass --ignore-columns '\(names[column])' (or --id-column)")
        }
        let categories = counts.keys.sorted()
        let fill = fillGaps ? categories.max { counts[$0]! < counts[$1]! || (counts[$0]! == counts[$1]! && $0 > $1) } : nil
        return FeatureColumn(name: names[column], encoding: .categorical(categories: categories, fill: fill))
    }

    /// Encodes the kept rows' cells of `indices` (the file's columns of `columns`, in order) as inputs, and
    /// returns them with each kept row's line. A category the encoding does not know gives all zeros and a notice.
    func encode(_ columns: [FeatureColumn], at indices: [Int], keep: [Bool], unseen notices: inout [String]) throws
        -> (Tensor<Double>, [Int]) {
        let width = columns.reduce(0) { $0 + $1.width }
        let kept = keep.count { $0 }
        var values = [Double](repeating: 0, count: kept * width)
        var lines: [Int] = []
        lines.reserveCapacity(kept)
        var unknown: [(column: String, count: Int, example: String, line: Int)] = columns.map { ($0.name, 0, "", 0) }
        let categoryIndex: [[String: Int]] = columns.map { column in
            guard case .categorical(let categories, _) = column.encoding else { return [:] }
            return Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, $0) })
        }
        var offset = 0
        for (r, row) in rows.enumerated() where keep[r] {
            var position = 0
            for (c, column) in columns.enumerated() {
                let cell = row.fields[indices[c]]
                func place() -> String { "line \(row.line), column \(indices[c] + 1) ('\(names[indices[c]])')" }
                switch column.encoding {
                case .numeric(let fill):
                    if CSVCells.isMissing(cell) {
                        guard let fill else {
                            throw DataError.corrupt(file, reason: "\(place()): missing value; the model has no fill for it (train with --missing mean)")
                        }
                        values[offset + position] = fill
                    } else {
                        guard let value = CSVCells.number(cell, decimalComma: decimalComma), value.isFinite else {
                            throw DataError.corrupt(file, reason: "\(place()): '\(cell.prefix(40))' is not a finite number")
                        }
                        values[offset + position] = value
                    }
                case .categorical(_, let fill):
                    var category = cell
                    if CSVCells.isMissing(cell) {
                        guard let fill else {
                            throw DataError.corrupt(file, reason: "\(place()): missing value; the model has no fill for it (train with --missing mean)")
                        }
                        category = fill
                    }
                    if let k = categoryIndex[c][category] {
                        values[offset + position + k] = 1
                    } else {
                        if unknown[c].count == 0 { (unknown[c].example, unknown[c].line) = (category, row.line) }
                        unknown[c].count += 1
                    }
                }
                position += column.width
            }
            offset += width
            lines.append(row.line)
        }
        for entry in unknown where entry.count > 0 {
            notices.append("\(entry.count) value\(entry.count == 1 ? "" : "s") of column '\(entry.column)' were not seen in training "
                + "(e.g. '\(entry.example.prefix(40))' at line \(entry.line)): encoded as all zeros")
        }
        return (Tensor(shape: [kept, width], elements: values), lines)
    }

    /// The kept rows' cells of a column.
    func cells(of column: Int, keep: [Bool]) -> [String] {
        rows.indices.compactMap { keep[$0] ? rows[$0].fields[column] : nil }
    }

    /// The id column's name and values, if one was named.
    func resolveId(_ reference: ColumnReference?, keep: [Bool]) throws -> (name: String, values: [String])? {
        guard let reference else { return nil }
        let index = try resolve(reference, flag: "--id-column")
        return (names[index], cells(of: index, keep: keep))
    }
}
