import BackpropCore
import BackpropNN

/// A dataset ready for a trainer, with what a model file must remember about it.
public struct PreparedData<Scalar: TensorScalar>: Sendable {
    /// The samples.
    public var data: AnyTrainingData<Scalar>
    /// Class names in class-index order (classification), or `nil` (regression).
    public var classNames: [String]?
    /// The names of the inputs, when the source has them.
    public var featureNames: [String]?
    /// The transform applied to the raw features.
    public var preprocessing: FeatureScaling
    /// Whether the samples carry real targets (`false` for an unlabelled CSV read for prediction; its targets are
    /// placeholders).
    public var hasTargets = true
    /// A CSV file's feature columns and their encodings.
    public var columns: [FeatureColumn]?
    /// A CSV file's label column.
    public var labelColumn: String?
    /// A CSV file's columns that were neither features nor the label.
    public var ignoredColumns: [String]?
    /// The standardisation of a regression target, which predictions undo.
    public var targetScaling: TargetScaling?
    /// The id column's name and every row's value, when one was named.
    public var ids: (name: String, values: [String])?
    /// What was decided while reading that the user should hear about.
    public var notices: [String] = []
    /// The shape of one sample when the source knows it is not a plain row of features: `[1, rows, columns]` for
    /// IDX images (one channel), `[channels, rows, columns]` for IDX files of three axes per image.
    public var sampleShape: [Int]?

    /// Describes prepared samples.
    public init(data: AnyTrainingData<Scalar>, classNames: [String]?, featureNames: [String]?, preprocessing: FeatureScaling) {
        self.data = data
        self.classNames = classNames
        self.featureNames = featureNames
        self.preprocessing = preprocessing
    }
}

/// Which part of a source to read.
public enum DataSplit: Sendable {
    /// Training data: IDX `train-*` files; the generated samples of a built-in; a whole CSV file.
    case training
    /// Test data: IDX `t10k-*` files; fresh samples (another seed) of a built-in; a whole CSV file.
    case test
}

extension DataSource {
    /// Loads training data, fitting the CSV encoding, `scaling` and (for regression) the target's standardisation
    /// to it; images are always scaled by 1/255.
    ///
    /// - Throws: ``DataError`` for unreadable or malformed data, and for CSV options given with a source that is
    ///   not a CSV file.
    public func prepareForTraining<Scalar: TensorScalar>(
        options: TabularOptions = TabularOptions(), scaling: FeatureScaling.Kind = .standard, seed: UInt64
    ) throws -> PreparedData<Scalar> {
        guard case .csv(let path) = self else {
            try Self.refuseCSVOptions(options, for: self)
            return try prepare(split: .training, seed: seed)
        }
        let table = try CSVTable(contentsOf: path, delimiter: options.delimiter)
        let tabular = try TabularData(fitting: table, file: path, options: options)
        let targets = tabular.targets ?? []
        let label = tabular.labelName ?? "the label"
        let regression = switch options.task {
        case .auto: tabular.targetsLookLikeRegression
        case .classification: false
        case .regression: true
        }
        let preprocessing = FeatureScaling.fit(scaling, to: tabular.features, leaving: tabular.columns.flatMap { column in
            [Bool](repeating: column.isCategorical, count: column.width)
        })
        let features = try preprocessing.apply(to: tabular.features).converted(to: Scalar.self)
        var prepared: PreparedData<Scalar>
        if regression {
            let values = try tabular.targetValues(file: path)
            let targetScaling = TargetScaling.fit(to: values)
            let standardized = Tensor<Scalar>(shape: [values.count, 1], elements: values.map { Scalar(targetScaling.standardized($0)) })
            prepared = PreparedData(data: AnyTrainingData(try InMemoryDataset(features: features, values: standardized)),
                                    classNames: nil, featureNames: tabular.inputNames, preprocessing: preprocessing)
            prepared.targetScaling = targetScaling
        } else {
            let classes = tabular.targetClassNames
            guard classes.count <= Limits.csvClasses else {
                throw DataError.corrupt(path, reason: "column '\(label)' holds \(classes.count) distinct labels, more than the "
                    + "\(Limits.csvClasses) classes a model may have; if it holds numbers to predict, pass --task regression")
            }
            guard classes.count >= 2 else {
                throw DataError.corrupt(path, reason: "column '\(label)' holds a single class ('\(classes.first ?? "")'); a classifier needs two or more")
            }
            let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
            prepared = PreparedData(
                data: AnyTrainingData(try InMemoryDataset(features: features, labels: targets.map { index[$0]! }, classCount: classes.count)),
                classNames: classes, featureNames: tabular.inputNames, preprocessing: preprocessing)
        }
        if options.task == .auto {
            prepared.notices.append(regression
                ? "task: regression (column '\(label)' holds numbers); pass --task classification to treat each value as a class"
                : "task: classification (\(prepared.classNames!.count) classes in column '\(label)')"
                    + (tabular.targetsAreNumbers ? "; pass --task regression to predict numbers" : ""))
        }
        prepared.columns = tabular.columns
        prepared.labelColumn = tabular.labelName
        prepared.ignoredColumns = tabular.ignoredNames
        prepared.ids = tabular.ids
        prepared.notices = tabular.notices + prepared.notices
        return prepared
    }

    /// Loads data for an existing model: its column encoding, preprocessing, class names and target scaling are
    /// applied, not refitted.
    ///
    /// - Throws: ``DataError`` when the data's features, classes or kind of target do not match the model's.
    public func prepare<Scalar: TensorScalar>(
        for info: ModelInfo, split: DataSplit, seed: UInt64, options: TabularOptions = TabularOptions()
    ) throws -> PreparedData<Scalar> {
        guard case .csv(let path) = self else {
            try Self.refuseCSVOptions(options, for: self)
            var prepared: PreparedData<Scalar> = try prepare(split: split, seed: seed)
            try prepared.relabel(for: info, source: description)
            return prepared
        }
        guard info.columns != nil || info.featureNames != nil else {
            throw DataError.mismatch("the model was trained on images, whose inputs have no names; it reads IDX data (a directory or fashion-mnist), not \(path)")
        }
        let table = try CSVTable(contentsOf: path, delimiter: options.delimiter)
        let columns = info.columns ?? (info.featureNames ?? []).map { FeatureColumn(name: $0, encoding: .numeric(fill: nil)) }
        // A first-format file records the label column as the flag was given: a name or an index.
        let label = options.label ?? info.labelColumn.map { info.columns == nil ? ColumnReference(parsing: $0) : .name($0) }
        let tabular = try TabularData(table: table, file: path, model: (columns, label, info.ignoredColumns ?? []), options: options)
        let features = try info.preprocessing.apply(to: tabular.features).converted(to: Scalar.self)
        let rows = features.shape[0]
        let data: any TrainingData<Scalar>
        switch (info.classNames, tabular.targets) {
        case (_, nil):
            data = try InMemoryDataset(features: features, values: Tensor.zeros(shape: [rows, 1]))
        case (let classes?, let targets?):
            let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
            let labels = try zip(targets, tabular.lines).map { target, line in
                guard let label = index[target] else {
                    throw DataError.mismatch("\(path): line \(line) has class '\(target.prefix(40))', which the model does not know "
                        + "(its classes: \(classes.joined(separator: ", ")))")
                }
                return label
            }
            data = try InMemoryDataset(features: features, labels: labels, classCount: classes.count)
        case (nil, _?):
            let values = try tabular.targetValues(file: path)
            let scaling = info.targetScaling ?? TargetScaling(mean: 0, standardDeviation: 1)
            data = try InMemoryDataset(features: features, values: Tensor(shape: [rows, 1], elements: values.map { Scalar(scaling.standardized($0)) }))
        }
        var prepared = PreparedData(data: AnyTrainingData(data), classNames: info.classNames, featureNames: tabular.inputNames,
                                    preprocessing: info.preprocessing)
        prepared.hasTargets = tabular.targets != nil
        prepared.columns = columns
        prepared.labelColumn = tabular.labelName
        prepared.targetScaling = info.targetScaling
        prepared.ids = tabular.ids
        prepared.notices = tabular.notices
        return prepared
    }

    private func prepare<Scalar: TensorScalar>(split: DataSplit, seed: UInt64) throws -> PreparedData<Scalar> {
        func images(_ dataset: ImageDataset<Scalar>) -> PreparedData<Scalar> {
            var prepared = PreparedData(data: AnyTrainingData(dataset), classNames: (0..<(dataset.classCount ?? 0)).map(String.init),
                                        featureNames: nil, preprocessing: .uniform(factor: 1.0 / 255))
            prepared.sampleShape = dataset.imageShape.count == 2 ? [1] + dataset.imageShape : dataset.imageShape
            return prepared
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
            return try prepareForTraining(seed: seed)
        }
    }

    private static func refuseCSVOptions(_ options: TabularOptions, for source: DataSource) throws {
        let given = [(options.label != nil, "--label"), (!options.ignored.isEmpty, "--ignore-columns"),
                     (options.idColumn != nil, "--id-column"), (options.missing != .error, "--missing"),
                     (options.task != .auto, "--task"), (options.delimiter != nil, "--delimiter")]
        if let flag = given.first(where: \.0)?.1 {
            throw DataError.mismatch("\(flag) applies to CSV files, and \(source) is not one")
        }
    }
}

extension PreparedData {
    /// Maps built-in or image data's classes onto a model's by name, or explains why they cannot be: a class the
    /// model does not know, class labels for a model that predicts numbers, or numbers for a classifier.
    mutating func relabel(for info: ModelInfo, source: String) throws {
        switch (info.classNames, classNames) {
        case (nil, nil):
            return
        case (nil, _?):
            throw DataError.mismatch("\(source) has class labels, but the model predicts numbers (it is a regression model)")
        case (let modelClasses?, nil):
            throw DataError.mismatch("\(source) has numeric targets, but the model is a classifier (classes: \(modelClasses.joined(separator: ", ")))")
        case (let modelClasses?, let dataClasses?):
            let index = Dictionary(uniqueKeysWithValues: modelClasses.enumerated().map { ($1, $0) })
            let mapping = dataClasses.map { index[$0] }
            if mapping == Array(0..<dataClasses.count).map(Optional.some) && dataClasses.count == modelClasses.count { return }
            data = try data.relabeled(mapping, classCount: modelClasses.count) { sample, label in
                DataError.mismatch("\(source): sample \(sample + 1) has class '\(dataClasses[label])', which the model does not know "
                    + "(its classes: \(modelClasses.joined(separator: ", ")))")
            }
            classNames = modelClasses
        }
    }
}

extension AnyTrainingData {
    /// The same samples with class `c` renamed `mapping[c]`; `unknown(sample, c)` is thrown for the first sample
    /// whose class maps to nothing.
    func relabeled(_ mapping: [Int?], classCount: Int, unknown: (Int, Int) -> DataError) throws -> AnyTrainingData {
        func mapped(_ labels: [Int]) throws -> [Int] {
            try labels.enumerated().map { sample, label in
                guard let new = mapping[label] else { throw unknown(sample, label) }
                return new
            }
        }
        switch base {
        case let images as ImageDataset<Scalar>:
            return AnyTrainingData(try ImageDataset(pixels: images.pixels, imageShape: images.imageShape, labels: try mapped(images.labels),
                                                    classCount: classCount, source: "relabeled"))
        case let memory as InMemoryDataset<Scalar>:
            guard case .classes(let labels) = memory.targets else { return self }
            return AnyTrainingData(try InMemoryDataset(features: memory.features, labels: try mapped(labels), classCount: classCount))
        default:
            preconditionFailure("relabeled: built-in and image sources are in memory or images")
        }
    }
}
