import BackpropCore
import BackpropNN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a dataset comes from, as written on the command line.
///
/// - `builtin:NAME`: a generated dataset (``BuiltinDataset``), e.g. `builtin:spirals`.
/// - `fashion-mnist`: Debian's `dataset-fashion-mnist` package.
/// - a directory path: IDX files in the MNIST layout (`train-*` / `t10k-*`, gzipped or raw).
/// - a file path: a CSV file (see ``TabularData``).
public enum DataSource: Sendable, Equatable, CustomStringConvertible {
    /// `builtin:NAME`: a generated dataset.
    case builtin(BuiltinDataset)
    /// `fashion-mnist`: the installed Debian package's IDX files.
    case fashionMNIST
    /// A directory of IDX files.
    case idxDirectory(String)
    /// A CSV file.
    case csv(String)

    /// Parses a source name.
    ///
    /// - Throws: ``DataError/unknownSource(_:)`` for a path that does not exist, ``DataError/mismatch(_:)`` for an
    ///   unknown `builtin:` name.
    public init(parsing text: String) throws {
        if text.hasPrefix("builtin:") {
            guard let dataset = BuiltinDataset(name: text) else {
                let names = BuiltinDataset.allCases.map { "builtin:\($0.rawValue)" }
                let hint = Suggestion.nearest(to: text, in: names).map { "did you mean '\($0)'? " } ?? ""
                throw DataError.mismatch("unknown built-in dataset '\(text)' (\(hint)available: \(names.joined(separator: ", ")))")
            }
            self = .builtin(dataset)
        } else if text == "fashion-mnist" {
            self = .fashionMNIST
        } else {
            var info = stat()
            guard stat(text, &info) == 0 else {
                if errno == ENOENT || errno == ENOTDIR { throw DataError.unknownSource(text) }
                throw DataError.unreadable(text, reason: String(cString: strerror(errno)))
            }
            self = (info.st_mode & S_IFMT) == S_IFDIR ? .idxDirectory(text) : .csv(text)
        }
    }

    public var description: String {
        switch self {
        case .builtin(let dataset): dataset.description
        case .fashionMNIST: "fashion-mnist"
        case .idxDirectory(let path), .csv(let path): path
        }
    }

}
