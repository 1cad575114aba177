import Foundation

extension Model {
    /// Writes the model to a safetensors file at `url`, atomically (the file is either the old one or the whole new
    /// one), with a description generated from the model itself: its task, loss, class names, preprocessing and
    /// training history, checked against the layers before anything is written.
    ///
    /// - Throws: `ModelFileError.inconsistent` when the class names do not fit the outputs (or the loss the task);
    ///   `DataError.unwritable` when the file cannot be written.
    public func save(to url: URL) throws {
        try SavedModel(model: network, info: try info()).write(to: try Self.path(of: url))
    }

    /// Reads a model file written by ``save(to:)`` or by `backprop train`/`import`, checking every tensor against the
    /// architecture it records.
    ///
    /// - Parameters:
    ///   - url: the file.
    ///   - losses: losses of your own that the file may name (the built-in kinds are always known).
    /// - Throws: `ModelFileError` when the file is not a valid Backprop model; `DataError` when it cannot be read.
    public static func load(from url: URL, losses: [any Loss] = []) throws -> Model {
        let saved = try SavedModel<Scalar>.read(from: try path(of: url), losses: losses)
        var model = Model(saved.model, seed: saved.info.training?.seed ?? 0)
        model.loss = saved.info.loss
        model.classNames = saved.info.classNames
        model.history = saved.info.training?.history ?? []
        model.fileInfo = saved.info
        if let record = saved.info.training { model.optimizer.learningRate = record.learningRate }
        return model
    }

    /// The description saved with the weights.
    func info() throws -> ModelInfo {
        guard let loss else {
            throw ModelFileError.inconsistent("the model has no loss yet: compile or fit it before saving")
        }
        var info = fileInfo ?? ModelInfo(task: .regression, classNames: nil, featureNames: nil, preprocessing: .none,
                                         loss: loss, labelColumn: nil, training: nil)
        info.loss = loss
        info.task = loss.isClassification ? .classification : .regression
        info.classNames = loss.isClassification ? classNames ?? defaultClassNames(loss: loss) : nil
        if !loss.isClassification { info.targetScaling = fileInfo?.targetScaling }
        info.training = TrainingRecord(
            data: fileInfo?.training?.data ?? "library", optimizer: "\(optimizer)", learningRate: optimizer.learningRate,
            batchSize: lastBatchSize ?? fileInfo?.training?.batchSize ?? 0, seed: seed,
            stopReason: history.isEmpty ? "not trained" : "trained \(history.count) epochs", history: history)
        return info
    }

    /// `"0"`, `"1"`, …: one name per output, or two for binary cross-entropy on one output.
    private func defaultClassNames(loss: any Loss) -> [String] {
        let outputs = network.producedOutputSize ?? 0
        return (0..<(outputs == 1 && loss is BinaryCrossEntropy ? 2 : outputs)).map(String.init)
    }

    private static func path(of url: URL) throws -> String {
        guard url.isFileURL else { throw DataError.unwritable(url.absoluteString, reason: "only file URLs can hold a model") }
        return url.path
    }
}
