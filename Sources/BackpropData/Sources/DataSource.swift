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
/// - a file path: a CSV file (see ``CSVData``).
public enum DataSource: Sendable, Equatable, CustomStringConvertible {
    case builtin(BuiltinDataset)
    case fashionMNIST
    case idxDirectory(String)
    case csv(String)

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

/// A dataset ready for a trainer, with what a model file must remember about it.
public struct PreparedData<Scalar: TensorScalar>: Sendable {
    /// The samples.
    public var data: AnyTrainingData<Scalar>
    /// Class names in class-index order (classification), or `nil` (regression).
    public var classNames: [String]?
    /// Feature names, when the source has them.
    public var featureNames: [String]?
    /// The transform applied to the raw features.
    public var preprocessing: FeatureScaling
    /// Whether the samples carry real targets (`false` for an unlabelled CSV read for prediction; its targets are
    /// placeholders).
    public var hasTargets = true
}

/// Which part of a source to read.
public enum DataSplit: Sendable {
    /// Training data: IDX `train-*` files; the generated samples of a built-in; a whole CSV file.
    case training
    /// Test data: IDX `t10k-*` files; fresh samples (another seed) of a built-in; a whole CSV file.
    case test
}

extension DataSource {
    /// Loads training data, fitting `scaling` to it (CSV sources; images are always scaled by 1/255).
    public func prepareForTraining<Scalar: TensorScalar>(
        labelColumn: LabelColumn = .index(-1), scaling: FeatureScaling.Kind = .standard, seed: UInt64
    ) throws -> PreparedData<Scalar> {
        switch self {
        case .csv(let path):
            let csv = try CSVData(contentsOf: path, labelColumn: labelColumn)
            let preprocessing = FeatureScaling.fit(scaling, to: csv.features)
            let classes = csv.looksLikeRegression ? nil : csv.classNames
            return PreparedData(data: try Self.dataset(csv, preprocessing: preprocessing, classNames: classes, file: path),
                                classNames: classes, featureNames: csv.featureNames, preprocessing: preprocessing)
        default:
            return try prepare(split: .training, seed: seed, labelColumn: labelColumn)
        }
    }

    /// Loads data for an existing model: its preprocessing and class names are applied, not refitted.
    ///
    /// - Throws: ``DataError`` when the data's features or classes do not match the model's.
    public func prepare<Scalar: TensorScalar>(
        for info: ModelInfo, split: DataSplit, seed: UInt64, labelColumn: LabelColumn = .index(-1)
    ) throws -> PreparedData<Scalar> {
        switch self {
        case .csv(let path):
            // A file with exactly the model's features and no label column is unlabelled data (for prediction).
            let table = try CSVTable(bytes: try FileBytes.read(path, limit: CSVData.sizeLimit), file: path)
            let width = table.rows.first?.fields.count ?? 0
            let unlabelled = info.featureNames.map { $0.count == width } ?? false
            let csv = try CSVData(table: table, file: path, labelColumn: unlabelled ? nil : labelColumn)
            var prepared = PreparedData<Scalar>(
                data: try Self.dataset(csv, preprocessing: info.preprocessing, classNames: unlabelled ? nil : info.classNames, file: path),
                classNames: info.classNames, featureNames: csv.featureNames, preprocessing: info.preprocessing)
            prepared.hasTargets = !unlabelled
            return prepared
        default:
            return try prepare(split: split, seed: seed, labelColumn: labelColumn)
        }
    }

    private func prepare<Scalar: TensorScalar>(split: DataSplit, seed: UInt64, labelColumn: LabelColumn) throws -> PreparedData<Scalar> {
        func images(_ dataset: ImageDataset<Scalar>) -> PreparedData<Scalar> {
            PreparedData(data: AnyTrainingData(dataset), classNames: (0..<(dataset.classCount ?? 0)).map(String.init),
                         featureNames: nil, preprocessing: .uniform(factor: 1.0 / 255))
        }
        switch self {
        case .builtin(let generator):
            let dataset: InMemoryDataset<Scalar> = generator.make(seed: split == .training ? seed : seed &+ 0x5EED)
            return PreparedData(data: AnyTrainingData(dataset), classNames: dataset.classCount.map { (0..<$0).map(String.init) },
                                featureNames: generator == .sine ? ["x"] : ["x", "y"], preprocessing: .none)
        case .fashionMNIST:
            return images(try IDXDirectory.fashionMNIST(split: split == .training ? .train : .test))
        case .idxDirectory(let path):
            return images(try IDXDirectory.load(path, split: split == .training ? .train : .test))
        case .csv:
            return try prepareForTraining(labelColumn: labelColumn, seed: seed)
        }
    }

    private static func dataset<Scalar: TensorScalar>(
        _ csv: CSVData, preprocessing: FeatureScaling, classNames: [String]?, file: String
    ) throws -> AnyTrainingData<Scalar> {
        let features = try preprocessing.apply(to: csv.features).converted(to: Scalar.self)
        if let classNames {
            let index = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })
            let labels = try csv.rawTargets.enumerated().map { row, name in
                guard let label = index[name] else {
                    throw DataError.mismatch("\(file): data row \(row + 1) has class '\(name)', which the model does not know (classes: \(classNames.joined(separator: ", ")))")
                }
                return label
            }
            return AnyTrainingData(try InMemoryDataset(features: features, labels: labels, classCount: classNames.count))
        }
        if csv.rawTargets.isEmpty {  // unlabelled: placeholder targets
            return AnyTrainingData(try InMemoryDataset(features: features, values: Tensor.zeros(shape: [features.shape[0], 1])))
        }
        let values = try csv.rawTargets.enumerated().map { row, text in
            guard let value = Double(text), value.isFinite else {
                throw DataError.mismatch("\(file): data row \(row + 1) has target '\(text)', which is not a number")
            }
            return Scalar(value)
        }
        return AnyTrainingData(try InMemoryDataset(features: features, values: Tensor(shape: [values.count, 1], elements: values)))
    }
}
