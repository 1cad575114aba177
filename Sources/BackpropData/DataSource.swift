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
public enum DataSource: Sendable, Equatable, CustomStringConvertible {
    case builtin(BuiltinDataset)
    case fashionMNIST
    case idxDirectory(String)

    /// Parses a source name.
    ///
    /// - Throws: ``DataError/unknownSource(_:)`` for an unknown `builtin:` name or a path that does not exist.
    public init(parsing text: String) throws {
        if text.hasPrefix("builtin:") {
            guard let dataset = BuiltinDataset(name: text) else {
                let names = BuiltinDataset.allCases.map { "builtin:\($0.rawValue)" }.joined(separator: ", ")
                throw DataError.mismatch("unknown built-in dataset '\(text)' (available: \(names))")
            }
            self = .builtin(dataset)
        } else if text == "fashion-mnist" {
            self = .fashionMNIST
        } else {
            var info = stat()
            guard stat(text, &info) == 0 else { throw DataError.unknownSource(text) }
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw DataError.mismatch("\(text): expected a directory of IDX files (CSV files are not supported yet)")
            }
            self = .idxDirectory(text)
        }
    }

    public var description: String {
        switch self {
        case .builtin(let dataset): dataset.description
        case .fashionMNIST: "fashion-mnist"
        case .idxDirectory(let path): path
        }
    }

    /// Loads the training split (`train-*` files for IDX sources; the generated samples for built-ins).
    public func loadTraining<Scalar: TensorScalar>(seed: UInt64, count: Int? = nil) throws -> AnyTrainingData<Scalar> {
        switch self {
        case .builtin(let dataset): AnyTrainingData(dataset.make(count: count, seed: seed) as InMemoryDataset<Scalar>)
        case .fashionMNIST: AnyTrainingData(try IDXDirectory.fashionMNIST(split: .train) as ImageDataset<Scalar>)
        case .idxDirectory(let path): AnyTrainingData(try IDXDirectory.load(path, split: .train) as ImageDataset<Scalar>)
        }
    }

    /// Loads the test split (`t10k-*` files for IDX sources; fresh samples from another seed for built-ins).
    public func loadTest<Scalar: TensorScalar>(seed: UInt64, count: Int? = nil) throws -> AnyTrainingData<Scalar> {
        switch self {
        case .builtin(let dataset):
            AnyTrainingData(dataset.make(count: count, seed: seed &+ 0x5EED) as InMemoryDataset<Scalar>)
        case .fashionMNIST: AnyTrainingData(try IDXDirectory.fashionMNIST(split: .test) as ImageDataset<Scalar>)
        case .idxDirectory(let path): AnyTrainingData(try IDXDirectory.load(path, split: .test) as ImageDataset<Scalar>)
        }
    }
}
