/// A dataset that cannot be read. Every case names the file (or source) and what is wrong with it.
public enum DataError: Error, Equatable, CustomStringConvertible {
    /// The file or directory does not exist or cannot be read.
    case unreadable(String, reason: String)
    /// An output file cannot be written there.
    case unwritable(String, reason: String)
    /// The content does not follow the format.
    case corrupt(String, reason: String)
    /// The data would need more memory than allowed.
    case tooLarge(String, bytes: Int, limit: Int)
    /// The named dataset is not installed; `hint` says how to install it.
    case missingDataset(String, hint: String)
    /// The data path does not exist.
    case unknownSource(String)
    /// Two files that belong together disagree (image and label counts).
    case mismatch(String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): "cannot access \(file): \(reason)"
        case .unwritable(let file, let reason): "cannot write \(file): \(reason)"
        case .corrupt(let file, let reason): "\(file): \(reason)"
        case .tooLarge(let file, let bytes, let limit): "\(file): needs \(bytes) bytes, more than the limit of \(limit)"
        case .missingDataset(let name, let hint): "dataset \(name) is not installed: \(hint)"
        case .unknownSource(let name):
            "\(name) does not exist (data is a CSV file, a directory of IDX files, fashion-mnist or builtin:NAME)"
        case .mismatch(let what): what
        }
    }
}
