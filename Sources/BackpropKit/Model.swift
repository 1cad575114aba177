import Foundation

/// A network together with what training and using it needs: its loss, its optimizer, its class names and its
/// training history. Build, train, evaluate, predict, save and load in a few lines:
///
/// ```swift
/// var model = try Model<Float>(inputShape: [2], layers: [.dense(64, activation: .relu), .dense(2)], seed: 1)
/// model.compile(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01))
/// try model.fit(training, epochs: 100)
/// print(model.evaluate(on: test))                        // loss 0.04, accuracy 99.5 %
/// try model.save(to: file)                             // a file URL
/// let restored = try Model<Float>.load(from: file)
/// ```
///
/// `Model` is a value: copying it copies the weights (cheaply, by copy-on-write), and ``fit(_:epochs:batchSize:validation:callbacks:classWeights:clipping:onEvent:)``
/// trains this copy in place. Everything random (initial weights, the shuffle of every epoch, dropout masks) comes
/// from ``seed``, so the same program gives the same model, bit for bit.
public struct Model<Scalar: TensorScalar>: Sendable {
    /// The layers and their weights.
    public var network: Sequential<Scalar>
    /// The loss J: chosen by ``compile(loss:optimizer:)``, or by the data on the first `fit` (softmax +
    /// cross-entropy for classes, ½-squared error for numbers).
    public var loss: (any Loss)?
    /// The update rule, with its learning rate and schedule (Adam, η = 0.001, unless compiled otherwise).
    public var optimizer: any Optimizer
    /// The names of the classes, in output order (classification); `"0"`, `"1"`, … when not given.
    public var classNames: [String]?
    /// The seed of the initial weights, the shuffle and dropout.
    public var seed: UInt64
    /// One record per epoch trained, over every `fit` call and, for a loaded model, the runs before it.
    public internal(set) var history: [EpochRecord]
    /// The description a loaded file brought (preprocessing, CSV columns, target scaling), kept when saved again.
    var fileInfo: ModelInfo?
    /// The batch size of the last ``fit``, recorded in saved files.
    var lastBatchSize: Int?

    /// Wraps a network built by hand.
    public init(_ network: Sequential<Scalar>, seed: UInt64 = 0) {
        self.network = network
        loss = nil
        optimizer = Adam()
        classNames = nil
        self.seed = seed
        history = []
        fileInfo = nil
    }

    /// Builds a network for samples of `inputShape` (`[features]`, or `[channels, height, width]` for images) from
    /// layer descriptions whose sizes follow from the input; weights are drawn from `seed`.
    ///
    /// - Throws: `ModelDescriptionError` naming the first layer that cannot take what comes before it.
    public init(inputShape: [Int], layers: [LayerDescription], seed: UInt64 = 0) throws {
        let network: Sequential<Scalar> = try ModelDescription(layers).build(inputShape: inputShape, seed: seed)
        self.init(network, seed: seed)
    }

    /// Sets the loss and the optimizer (with its learning rate and schedule) that `fit` trains with.
    public mutating func compile(loss: any Loss, optimizer: any Optimizer = Adam()) {
        self.loss = loss
        self.optimizer = optimizer
    }

    /// Whether the model predicts classes: its loss compares class targets.
    public var isClassifier: Bool { loss?.isClassification ?? (classNames != nil) }

    /// Trains the model on `data` for up to `epochs` epochs of mini-batches of `batchSize`, in place, and returns
    /// what happened (the epochs' reports and why training stopped).
    ///
    /// Each call starts the optimizer's state afresh (moment estimates at zero) from the current weights; the
    /// history grows across calls.
    ///
    /// - Parameters:
    ///   - data: the training samples.
    ///   - epochs: the most epochs to train (callbacks may stop earlier).
    ///   - batchSize: samples per mini-batch (at most the data's size).
    ///   - validation: evaluated after every epoch; early stopping and reduce-on-plateau watch its loss.
    ///   - callbacks: told of every epoch and batch (`EarlyStopping`, `ReduceLearningRateOnPlateau`,
    ///     `CSVLogger`, `TensorBoardLogger`, `ModelCheckpoint` or your own `Callback`).
    ///   - classWeights: each class's weight in the training loss (Keras's `class_weight`), or `nil` for equal weights.
    ///   - clipping: gradient clipping before every update.
    ///   - onEvent: receives a report after every batch and every epoch.
    /// - Throws: `TrainingError` when the network does not fit the data; any error a callback throws.
    @discardableResult
    public mutating func fit<Data: TrainingData>(
        _ data: Data, epochs: Int, batchSize: Int = 32, validation: Data? = nil, callbacks: [any Callback] = [],
        classWeights: [Double]? = nil, clipping: GradientClipping? = nil, onEvent: (TrainingEvent) -> Void = { _ in }
    ) throws -> TrainingResult<Sequential<Scalar>> where Data.Scalar == Scalar {
        let loss = self.loss ?? Self.defaultLoss(for: data)
        if let classes = data.classCount, !loss.isClassification {
            throw TrainingError.invalidModel("the loss \(loss.name) compares numbers, and the data has \(classes) classes")
        }
        if data.classCount == nil && loss.isClassification {
            throw TrainingError.invalidModel("the loss \(loss.name) compares classes, and the data has numeric targets")
        }
        let trainer = Trainer(loss: loss, optimizer: optimizer, batchSize: Swift.min(batchSize, Swift.max(data.count, 1)),
                              epochs: epochs, clipping: clipping, classWeights: classWeights, seed: seed &+ UInt64(history.count))
        let result = try trainer.fit(network, on: data, validation: validation, callbacks: callbacks, onEvent: onEvent)
        network = result.model
        self.loss = loss
        lastBatchSize = trainer.batchSize
        history += result.history.map { report in
            var record = EpochRecord(report)
            record.epoch += history.count
            return record
        }
        return result
    }

    /// The loss and, for classification data, accuracy on `data`, in batches of `batchSize`, for inference (dropout
    /// off, batch normalisation on its running statistics).
    public func evaluate<Data: TrainingData>(on data: Data, batchSize: Int = 256) -> Evaluation where Data.Scalar == Scalar {
        network.evaluate(on: data, loss: loss ?? Self.defaultLoss(for: data), batchSize: batchSize)
    }

    /// The loss the data asks for when none was compiled: softmax + cross-entropy for classes, ½-squared error for
    /// numbers.
    static func defaultLoss<Data: TrainingData>(for data: Data) -> any Loss {
        data.classCount == nil ? HalfSquaredError() : SoftmaxCrossEntropy()
    }
}
