import ArgumentParser
import BackpropCore
import BackpropData
import BackpropNN

/// Options shared by the commands that read a model and data.
struct ModelAndDataOptions: ParsableArguments {
    @Option(help: "The model file written by `backprop train --output`.")
    var model: String

    @Option(help: "Data: builtin:NAME, fashion-mnist, a directory of IDX files (its t10k-* files), or a CSV file.")
    var data: String

    @OptionGroup(title: "CSV data") var csv: CSVOptions

    @OptionGroup(title: "Computation") var computation: ThreadOptions

    @Option(parsing: .unconditional, help: "Seed of generated (builtin:) data.")
    var seed: UInt64 = 42

    /// Reads the model and the data prepared the way the model was trained (Float64 for exact gradient work).
    ///
    /// - Parameter purpose: what the targets are needed for (`nil` when they are not: prediction); data without a
    ///   label column is refused with it.
    func load<Scalar: TensorScalar>(_: Scalar.Type = Float.self, targetsFor purpose: String?) throws -> (SavedModel<Scalar>, PreparedData<Scalar>) {
        computation.apply()
        let saved = try SavedModel<Scalar>.read(from: model)
        let prepared: PreparedData<Scalar> = try DataSource(parsing: data).prepare(
            for: saved.info, split: .test, seed: seed, options: try csv.tabular())
        printNotices(prepared.notices)
        if let purpose, !prepared.hasTargets {
            throw DataError.mismatch("\(data) has no label column\(saved.info.labelColumn.map { " '\($0)'" } ?? ""), so there is nothing to \(purpose) (use `backprop predict`)")
        }
        if let inputs = saved.model.requiredInputSize, inputs != prepared.data.featureCount {
            throw DataError.mismatch("\(data) has \(prepared.data.featureCount) features per sample, the model in \(model) takes \(inputs)")
        }
        return (saved, prepared)
    }
}

/// `backprop evaluate`: loss and accuracy (or regression errors) of a saved model on data.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a saved model: loss, accuracy and confusion matrix (or MAE, RMSE and R² for regression).")

    @OptionGroup var options: ModelAndDataOptions

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let (saved, prepared) = try options.load(targetsFor: "evaluate against")
        let loss = saved.info.loss
        let lossValue = saved.model.evaluate(on: prepared.data, loss: loss).loss
        let (predictions, targets) = Predictions.collect(saved, prepared.data)
        // A regression target is standardised for training, so the loss is in those units; the errors below are not.
        let lossName = saved.info.targetScaling == nil ? "loss" : json ? "loss_standardized" : "loss (standardised target)"
        var fields: [(String, String)] = [("samples", "\(prepared.data.count)"), (lossName, json ? "\(lossValue)" : format(lossValue))]
        if let classes = saved.info.classNames {
            let metrics = ClassificationMetrics(predictions: predictions.classes, labels: targets.classIndices, classCount: classes.count)
            fields.append(("accuracy", json ? "\(metrics.accuracy)" : percent(metrics.accuracy)))
            fields.append(("macro_f1", json ? "\(metrics.macroF1)" : format(metrics.macroF1)))
            if json {
                fields.append(("classes", "[" + classes.map { "\"\(jsonEscaped($0))\"" }.joined(separator: ",") + "]"))
                fields.append(("confusion_matrix", "[" + metrics.confusion.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }.joined(separator: ",") + "]"))
                print("{" + fields.map { "\"\($0)\": \($1)" }.joined(separator: ", ") + "}")
            } else {
                fields.forEach { print("\($0): \($1)") }
                print(ConfusionTable(metrics: metrics, classNames: classes).text)
            }
        } else {
            let metrics = RegressionMetrics(predictions: predictions.values, targets: targets.values)
            fields += [("mae", "\(metrics.meanAbsoluteError)"), ("rmse", "\(metrics.rootMeanSquaredError)"), ("r2", "\(metrics.rSquared)")]
            if json {
                print("{" + fields.map { "\"\($0)\": \($1)" }.joined(separator: ", ") + "}")
            } else {
                fields.forEach { print("\($0): \($1)") }
            }
        }
    }
}

/// `backprop predict`: one prediction per input row.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Predict with a saved model, one CSV row per sample.")

    @OptionGroup var options: ModelAndDataOptions

    @Option(help: "Write the predictions to this CSV file (atomically) instead of standard output.")
    var output: String?

    @Flag(help: "Add one column per class with its softmax probability.")
    var probabilities = false

    @Flag(help: "Overwrite --output even if it is a Backprop model or checkpoint.")
    var force = false

    func run() throws {
        if let output { try checkOutput(output, for: "--output", writes: .other("predictions"), force: force) }
        let (saved, prepared) = try options.load(targetsFor: nil)
        let (predictions, _) = Predictions.collect(saved, prepared.data)
        // Each line starts with the row's id (the --id-column's value) or its 0-based number.
        let idHeader = csvEscaped(prepared.ids?.name ?? "row")
        let ids = prepared.ids?.values.map(csvEscaped) ?? (0..<prepared.data.count).map(String.init)
        var lines: [String] = []
        if let classes = saved.info.classNames {
            lines.append(([idHeader, "prediction"] + (probabilities ? classes.map { csvEscaped("p_" + $0) } : [])).joined(separator: ","))
            for (row, label) in predictions.classes.enumerated() {
                let p = probabilities ? predictions.probabilities[row].map { "\($0)" } : []
                lines.append(([ids[row], csvEscaped(classes[label])] + p).joined(separator: ","))
            }
        } else {
            lines.append("\(idHeader),prediction")
            lines += predictions.values.enumerated().map { "\(ids[$0]),\($1)" }
        }
        let text = lines.joined(separator: "\n") + "\n"
        if let output {
            try AtomicFile.write(Array(text.utf8), to: output)
        } else {
            print(text, terminator: "")
        }
    }
}

/// `backprop inspect`: what a model file holds.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a saved model: architecture, parameter counts, preprocessing, classes, training history.")

    @Option(help: "The model file.")
    var model: String

    func run() throws {
        let saved = try SavedModel<Float>.read(from: model)
        let info = saved.info
        print("model: \(model) (\(SavedModel<Float>.formatName))")
        print(saved.model.summary)
        print("task: \(info.task.rawValue)" + (info.classNames.map { ", \($0.count) classes: \($0.map(displayed).joined(separator: ", "))" } ?? ""))
        if let label = info.labelColumn { print("label column: \(label)") }
        if let columns = info.columns {
            print("columns:")
            for column in columns { print("  \(describe(column))") }
        } else if let features = info.featureNames {
            print("features: \(features.map(displayed).joined(separator: ", "))")
        }
        if let ignored = info.ignoredColumns, !ignored.isEmpty { print("ignored columns: \(ignored.joined(separator: ", "))") }
        print("preprocessing: \(describe(info.preprocessing))")
        if let scaling = info.targetScaling {
            print("target: standardised for training (mean \(scaling.mean), standard deviation \(scaling.standardDeviation)); outputs are mapped back")
        }
        print("loss: \(info.loss.name)")
        if let training = info.training {
            print("trained on \(training.data) with \(training.optimizer), learning rate \(training.learningRate), batch \(training.batchSize), seed \(training.seed)")
            print("stopped: \(training.stopReason)")
            for epoch in training.history {
                var parts = ["epoch \(epoch.epoch)", "loss \(format(epoch.trainLoss))"]
                if let a = epoch.trainAccuracy { parts.append("accuracy \(percent(a))") }
                if let l = epoch.validationLoss { parts.append("val_loss \(format(l))") }
                if let a = epoch.validationAccuracy { parts.append("val_accuracy \(percent(a))") }
                parts.append("\(format(epoch.seconds, digits: 3))s")
                print("  " + parts.joined(separator: "  "))
            }
        }
    }

    private func describe(_ column: FeatureColumn) -> String {
        switch column.encoding {
        case .numeric(let fill):
            "\(displayed(column.name)): number" + (fill.map { ", missing cells filled with \($0)" } ?? "")
        case .categorical(let categories, let fill):
            "\(displayed(column.name)): text, one-hot over \(categories.count) categories (\(categories.prefix(8).map(displayed).joined(separator: ", "))"
                + (categories.count > 8 ? ", …" : "") + ")" + (fill.map { ", missing cells counted as \(displayed($0))" } ?? "")
        }
    }

    private func describe(_ scaling: FeatureScaling) -> String {
        switch scaling {
        case .none: "none"
        case .standardize(let mean, _): "standardize \(mean.count) features (mean and standard deviation of the training data)"
        case .minMax(let low, _): "min-max scale \(low.count) features to [0, 1] on the training data"
        case .uniform(let factor): "multiply every input by \(factor)"
        }
    }
}

/// Predictions of a model over a whole dataset, in batches.
enum Predictions {
    struct Result {
        var classes: [Int] = []
        var probabilities: [[Float]] = []
        var values: [Double] = []
    }

    struct Truth {
        var classIndices: [Int] = []
        var values: [Double] = []
    }

    /// Runs a saved model over `data` in batches: its loss says how outputs become class probabilities, and its
    /// target scaling maps regression outputs and targets back to the target's units.
    static func collect(_ saved: SavedModel<Float>, _ data: AnyTrainingData<Float>) -> (Result, Truth) {
        let model = saved.model, loss = saved.info.loss, classification = saved.info.classNames != nil
        let scaling = saved.info.targetScaling ?? TargetScaling(mean: 0, standardDeviation: 1)
        var result = Result()
        var truth = Truth()
        var start = 0
        while start < data.count {
            let indices = Array(start..<Swift.min(start + 256, data.count))
            let (x, targets) = data.batch(at: indices)
            let output = model(x)
            if classification {
                result.classes += predictedClasses(output)
                let p = loss.probabilities(fromOutput: output)
                let flat = p.scalars
                let width = p.shape[1]
                result.probabilities += (0..<indices.count).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
                if data.classCount != nil { truth.classIndices += targets.classIndices }
            } else {
                result.values += output.scalars.map { scaling.original(Double($0)) }
                if case .values(let v) = targets { truth.values += v.scalars.map { scaling.original(Double($0)) } }
            }
            start += 256
        }
        return (result, truth)
    }
}
