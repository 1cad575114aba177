/// A parsed CSV file: rows of fields, each row with the line it starts on.
///
/// RFC 4180 with the usual extensions: fields separated by a comma, a semicolon or a tab (the one the header line
/// uses most, outside quotes, unless given), optionally in double quotes (a quote inside a quoted field is doubled,
/// and quoted fields may span lines), LF or CRLF line ends, an optional UTF-8 byte-order mark, blank lines skipped. Backprop parses CSV itself rather than using a package because every error must name the
/// line and column, and the parser must answer any byte sequence (NULs, invalid UTF-8, huge fields) with either
/// rows or a ``DataError`` — never a crash or an unbounded allocation.
public struct CSVTable: Sendable, Equatable {
    /// The rows, first to last, with the 1-based line each starts on.
    public var rows: [(line: Int, fields: [String])]

    /// The field separator: `,`, `;` or a tab.
    public var delimiter: Character

    /// The largest CSV file read: parsed fields take many times the file's size, so files beyond 1/32 of this
    /// machine's memory (and beyond 1 GiB) are refused before they are read.
    public static var fileSizeLimit: Int {
        let memory = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        return Swift.max(1 << 20, Swift.min(1 << 30, memory / 32))
    }

    /// The largest field accepted, in bytes.
    public static let fieldLimit = 1 << 20

    /// The separators ``init(bytes:file:delimiter:)`` accepts and detects.
    public static let delimiters: [Character] = [",", ";", "\t"]

    /// Parses CSV bytes; `file` names the source in errors.
    ///
    /// - Parameter delimiter: the field separator, one of ``delimiters``; `nil` detects it from the first line.
    public init(bytes: [UInt8], file: String, delimiter: Character? = nil) throws {
        let bom = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let delimiter = delimiter ?? Self.detectDelimiter(bytes[bom...])
        guard let separator = delimiter.asciiValue, Self.delimiters.contains(delimiter) else {
            throw DataError.mismatch("the CSV delimiter must be a comma, a semicolon or a tab, not '\(delimiter)'")
        }
        self.delimiter = delimiter
        var rows: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1, rowLine = 1
        var inQuotes = false, wasQuoted = false, rowHasContent = false
        var i = bom

        func finishField() throws {
            guard let text = String(validating: field, as: UTF8.self) else {
                throw DataError.corrupt(file, reason: "line \(rowLine), column \(fields.count + 1): not valid UTF-8")
            }
            guard !text.contains("\0") else {
                throw DataError.corrupt(file, reason: "line \(rowLine), column \(fields.count + 1): contains a NUL byte")
            }
            fields.append(wasQuoted ? text : text.trimmingSpaces)
            field.removeAll(keepingCapacity: true)
            wasQuoted = false
        }
        func finishRow() throws {
            try finishField()
            if rowHasContent || fields.count > 1 || !(fields.first ?? "").isEmpty { rows.append((rowLine, fields)) }
            fields = []
            rowHasContent = false
        }

        while i < bytes.count {
            let byte = bytes[i]
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        i += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
            } else {
                switch byte {
                case separator:
                    try finishField()
                    rowHasContent = true
                case UInt8(ascii: "\n"):
                    try finishRow()
                    line += 1
                    rowLine = line
                case UInt8(ascii: "\r") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n"):
                    break
                case UInt8(ascii: "\""):
                    guard field.allSatisfy({ $0 == UInt8(ascii: " ") }) else {
                        throw DataError.corrupt(file, reason: "line \(line), column \(fields.count + 1): quote inside an unquoted field")
                    }
                    field.removeAll()
                    inQuotes = true
                    wasQuoted = true
                    rowHasContent = true
                default:
                    if wasQuoted && byte != UInt8(ascii: " ") {
                        throw DataError.corrupt(file, reason: "line \(line), column \(fields.count + 1): text after a closing quote")
                    }
                    if !wasQuoted { field.append(byte) }
                }
            }
            guard field.count <= CSVTable.fieldLimit else {
                throw DataError.corrupt(file, reason: "line \(rowLine), column \(fields.count + 1): field longer than \(CSVTable.fieldLimit) bytes")
            }
            i += 1
        }
        guard !inQuotes else {
            throw DataError.corrupt(file, reason: "line \(rowLine): a quoted field is not closed before the end of the file")
        }
        try finishRow()
        self.rows = rows
    }

    /// The separator the first line (outside quotes) holds most of: comma, semicolon or tab; a comma on a tie.
    static func detectDelimiter(_ bytes: ArraySlice<UInt8>) -> Character {
        var counts: [UInt8: Int] = [:]
        var inQuotes = false
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { inQuotes.toggle() }
            if inQuotes { continue }
            if byte == UInt8(ascii: "\n") { break }
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: ";") || byte == UInt8(ascii: "\t") { counts[byte, default: 0] += 1 }
        }
        let best = delimiters.max { counts[$0.asciiValue!, default: 0] < counts[$1.asciiValue!, default: 0] }!
        return counts[best.asciiValue!, default: 0] > counts[UInt8(ascii: ","), default: 0] ? best : ","
    }

    public static func == (lhs: CSVTable, rhs: CSVTable) -> Bool {
        lhs.delimiter == rhs.delimiter && lhs.rows.count == rhs.rows.count && zip(lhs.rows, rhs.rows).allSatisfy { $0.line == $1.line && $0.fields == $1.fields }
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
