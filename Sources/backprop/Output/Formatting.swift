#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Formats a value with a fixed number of decimals.
func format(_ value: Double, digits: Int = 4) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if let dot = text.firstIndex(of: "."), !text.contains("e") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    }
    return text
}

/// Formats a fraction as a percentage with two decimals.
func percent(_ fraction: Double) -> String { format(fraction * 100, digits: 2) + "%" }

/// Escapes a string for a JSON string literal.
func jsonEscaped(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result
}

/// Quotes a CSV field when it needs it.
func csvEscaped(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    printErrorLines(oneLine(message))
}

/// A message as one line: line breaks and tabs it quotes from the data (a class name, a cell) written as `\n`,
/// `\r`, `\t`, so that every error and note is exactly one line.
func oneLine(_ message: String) -> String {
    var result = ""
    for character in message {
        switch character {
        case "\n", "\r\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default: result.append(character)
        }
    }
    return result
}

/// A name from the data as it should appear in a list: on one line, and in quotes when it holds a comma, a quote
/// or surrounding spaces.
func displayed(_ name: String) -> String {
    let line = oneLine(name)
    let needsQuotes = line.contains(",") || line.contains("\"") || line.first == " " || line.last == " " || line != name
    return needsQuotes ? "\"" + line.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : line
}

/// Writes text to standard error as it is (usage messages span several lines).
func printErrorLines(_ message: String) {
    let bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// Whether standard output is a terminal (live progress) or a file or pipe (plain lines).
var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
