/// How the text of a CSV cell is read: missing markers and numbers.
enum CSVCells {
    /// Cells that mean "no value" (as pandas reads them by default, less the exotic ones).
    static let missingMarkers: Set<String> = ["", "NA", "N/A", "n/a", "NaN", "nan", "NAN", "?", "null", "NULL", "None", "#N/A"]

    static func isMissing(_ text: String) -> Bool {
        // Most cells are numbers: no marker starts with a digit, a sign or a point, and none is longer than 4 bytes.
        let utf8 = text.utf8
        guard utf8.count <= 4 else { return false }
        if let first = utf8.first, first &- UInt8(ascii: "0") <= 9 || first == UInt8(ascii: "-") || first == UInt8(ascii: "+")
            || first == UInt8(ascii: ".") {
            return false
        }
        return missingMarkers.contains(text)
    }

    /// The number a cell holds, or `nil` for text. With `decimalComma` (files separated by `;` or tabs, as European
    /// spreadsheets write them) `3,25` is 3.25. Overflowing numbers come back infinite, for the caller to refuse.
    static func number(_ text: String, decimalComma: Bool) -> Double? {
        if let value = wholeNumber(text) { return value }
        if let value = Double(text) { return value.isNaN ? nil : value }
        guard decimalComma, text.utf8.contains(UInt8(ascii: ",")) else { return nil }
        var utf8 = Array(text.utf8)
        guard utf8.count(where: { $0 == UInt8(ascii: ",") }) == 1, !utf8.contains(UInt8(ascii: ".")) else { return nil }
        for i in utf8.indices where utf8[i] == UInt8(ascii: ",") { utf8[i] = UInt8(ascii: ".") }
        return Double(String(decoding: utf8, as: UTF8.self)).flatMap { $0.isNaN ? nil : $0 }
    }

    /// A cell of up to 15 decimal digits with an optional sign, read exactly without the general parser (pixel values,
    /// counts and class numbers are most cells of most files); `nil` for anything else.
    private static func wholeNumber(_ text: String) -> Double? {
        text.utf8.withContiguousStorageIfAvailable { utf8 -> Double? in
            var index = 0
            let negative = utf8.first == UInt8(ascii: "-")
            if negative || utf8.first == UInt8(ascii: "+") { index = 1 }
            guard index < utf8.count, utf8.count - index <= 15 else { return nil }
            var value: Int64 = 0
            while index < utf8.count {
                let digit = utf8[index] &- UInt8(ascii: "0")
                guard digit <= 9 else { return nil }
                value = value * 10 + Int64(digit)
                index += 1
            }
            return negative ? -Double(value) : Double(value)
        } ?? nil
    }

    /// How many rows below the first ``firstRowIsHeader(_:decimalComma:)`` looks at.
    static let headerSampleRows = 1000

    /// Whether the first row is a header: some column holds numbers below it (in the rows sampled) but text in it;
    /// or, where every column holds text, none of its cells recurs below in its column. A first row with a number in
    /// every number column is data.
    static func firstRowIsHeader(_ rows: ArraySlice<(line: Int, fields: [String])>, decimalComma: Bool) -> Bool {
        guard let first = rows.first?.fields else { return false }
        let below = rows.dropFirst().prefix(headerSampleRows)
        guard !below.isEmpty else { return first.contains { !isMissing($0) && number($0, decimalComma: decimalComma) == nil } }
        var anyNumericColumn = false
        for column in first.indices {
            let cells = below.lazy.compactMap { column < $0.fields.count ? $0.fields[column] : nil }.filter { !isMissing($0) }
            guard !cells.isEmpty, cells.allSatisfy({ number($0, decimalComma: decimalComma) != nil }) else { continue }
            anyNumericColumn = true
            if !isMissing(first[column]) && number(first[column], decimalComma: decimalComma) == nil { return true }
        }
        if anyNumericColumn { return false }
        return first.indices.allSatisfy { column in !below.contains { column < $0.fields.count && $0.fields[column] == first[column] } }
    }
}
