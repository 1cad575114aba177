import BackpropCore
import BackpropNN

/// What a model file records besides the weights: enough to evaluate and predict exactly as training saw the data.
public struct ModelInfo: Codable, Sendable, Equatable {
    /// What a model predicts.
    public enum Task: String, Codable, Sendable {
        /// One class of ``classNames`` per sample.
        case classification
        /// A number per output.
        case regression
    }

    /// Whether the model predicts classes or numbers.
    public var task: Task
    /// Class names in output order (classification only).
    public var classNames: [String]?
    /// Input feature names, when known (CSV headers).
    public var featureNames: [String]?
    /// The transform applied to raw inputs.
    public var preprocessing: FeatureScaling
    /// The training loss (stored as its command-line name, e.g. `softmax-cross-entropy`).
    @StoredLoss public var loss: any Loss
    /// The label column of CSV training data, if any.
    public var labelColumn: String?
    /// How the model was trained.
    public var training: TrainingRecord?
    /// CSV training data's feature columns and how each becomes inputs (`nil` in files of the first format, whose
    /// features are the numeric columns ``featureNames``).
    public var columns: [FeatureColumn]?
    /// CSV columns that were neither features nor the label in training (skipped in later files too).
    public var ignoredColumns: [String]?
    /// The standardisation of a regression target, undone on the model's outputs.
    public var targetScaling: TargetScaling?

    /// Creates a description.
    public init(task: Task, classNames: [String]?, featureNames: [String]?, preprocessing: FeatureScaling,
                loss: any Loss, labelColumn: String?, training: TrainingRecord?, columns: [FeatureColumn]? = nil,
                ignoredColumns: [String]? = nil, targetScaling: TargetScaling? = nil) {
        self.task = task
        self.classNames = classNames
        self.featureNames = featureNames
        self.preprocessing = preprocessing
        self.loss = loss
        self.labelColumn = labelColumn
        self.training = training
        self.columns = columns
        self.ignoredColumns = ignoredColumns
        self.targetScaling = targetScaling
    }
}

extension ModelInfo {
    /// The first way this description contradicts `model`'s layers, or `nil` when it fits: the task, loss and class
    /// names must agree with each other and with the outputs, the feature names and the preprocessing with the
    /// inputs.
    public func inconsistency<Scalar>(with model: Sequential<Scalar>) -> String? {
        let outputs = model.producedOutputSize, inputs = model.requiredInputSize
        guard let outputs, let inputs else { return "the model has no layer with weights" }
        switch task {
        case .classification:
            guard let classes = classNames else { return "a classification model needs class names" }
            guard loss.isClassification else { return "a classifier cannot be trained with the \(loss.name) loss" }
            guard Set(classes).count == classes.count else { return "the class names are not distinct" }
            guard classes.count <= Limits.classes else { return "\(classes.count) classes, more than the limit of \(Limits.classes)" }
            let binary = classes.count == 2 && outputs == 1 && loss is BinaryCrossEntropy
            if outputs != classes.count && !binary {
                return "\(classes.count) class names for a model with \(outputs) outputs"
            }
        case .regression:
            guard classNames == nil else { return "a regression model has no class names" }
            if let problem = targetScaling?.inconsistency { return problem }
            guard !loss.isClassification else { return "a regression model cannot be trained with the \(loss.name) loss" }
        }
        if task == .classification && targetScaling != nil { return "a classifier's targets are not scaled" }
        if let columns {
            if let problem = columns.lazy.compactMap(\.inconsistency).first { return problem }
            if let names = featureNames, names != columns.flatMap(\.inputNames) { return "the feature names do not match the columns" }
            if columns.reduce(0, { $0 + $1.width }) != inputs {
                return "the columns make \(columns.reduce(0) { $0 + $1.width }) inputs for a model with \(inputs)"
            }
        }
        if let names = featureNames, names.count != inputs {
            return "\(names.count) feature names for a model with \(inputs) inputs"
        }
        if let width = preprocessing.featureCount, width != inputs {
            return "the preprocessing is fitted to \(width) features, the model takes \(inputs)"
        }
        return preprocessing.inconsistency
    }
}

/// The settings and history of a training run, stored with the model.
public struct TrainingRecord: Codable, Sendable, Equatable {
    /// The training data source, as given on the command line.
    public var data: String
    /// The optimizer's command-line name.
    public var optimizer: String
    /// The base learning rate.
    public var learningRate: Double
    /// Samples per mini-batch.
    public var batchSize: Int
    /// The seed of initialisation, shuffling and dropout.
    public var seed: UInt64
    /// Why training ended, as printed.
    public var stopReason: String
    /// One entry per epoch.
    public var history: [EpochRecord]
    /// Every option that decides what training computes, by flag (`--activation` → `relu`), so that a resumed run
    /// can be checked to repeat them (`nil` in files written before it was recorded).
    public var options: [String: String]?

    /// Creates a record.
    public init(data: String, optimizer: String, learningRate: Double, batchSize: Int, seed: UInt64,
                stopReason: String, history: [EpochRecord], options: [String: String]? = nil) {
        self.data = data
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.seed = seed
        self.stopReason = stopReason
        self.history = history
        self.options = options
    }
}

/// One epoch of a stored training history.
public struct EpochRecord: Codable, Sendable, Equatable {
    /// The epoch, from 1.
    public var epoch: Int
    /// Training time of the epoch.
    public var seconds: Double
    /// Mean training loss.
    public var trainLoss: Double
    /// Training accuracy (classification).
    public var trainAccuracy: Double?
    /// Validation loss, if validated.
    public var validationLoss: Double?
    /// Validation accuracy, if validated (classification).
    public var validationAccuracy: Double?
    /// The epoch's learning rate.
    public var learningRate: Double

    /// Records a trainer's epoch report.
    public init(_ report: EpochReport) {
        epoch = report.epoch
        seconds = report.seconds
        trainLoss = report.trainingLoss
        trainAccuracy = report.trainingAccuracy
        validationLoss = report.validationLoss
        validationAccuracy = report.validationAccuracy
        learningRate = report.learningRate
    }
}

