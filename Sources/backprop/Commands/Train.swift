import ArgumentParser
import BackpropCore
import BackpropData
import BackpropNN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `backprop train`: trains a network (a perceptron from `--layers`, or any network from `--model`), reports every
/// epoch and saves the model.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a network on a dataset: a perceptron (--layers) or any network (--model), convolutional ones included.",
        discussion: """
            With no options, trains a 2-64-64-2 ReLU network with Adam (η = 0.001) for 200 epochs on two \
            interleaved spirals (generated, no download) and prints the loss falling epoch by epoch. The loss and output layer follow the data: \
            softmax + cross-entropy for classes, ½-squared error for numeric targets.
            """)

    @Option(help: "Training data: builtin:NAME (spirals, xor, circles, moons, blobs, sine), fashion-mnist, a directory of IDX files, or a CSV file.")
    var data = "builtin:spirals"

    @Option(help: "Test data, evaluated after every epoch (same forms as --data; IDX sources read their t10k-* files). Built-in data is tested on fresh samples by default.")
    var testData: String?

    @OptionGroup(title: "CSV data") var csv: CSVOptions

    @OptionGroup(title: "Computation") var computation: ThreadOptions

    @Option(help: "Missing CSV cells (empty, NA, NaN, ?): error (say where), drop (skip those rows), mean (fill with the column's training mean, or its most frequent text; saved with the model).",
            transform: TabularOptions.MissingValues.parser(for: "--missing"))
    var missing: TabularOptions.MissingValues = .error

    @Option(help: "classification (every distinct target a class), regression (numeric targets, standardised for training), or auto (regression when the targets are numbers that are not all small whole numbers).",
            transform: TabularOptions.Task.parser(for: "--task"))
    var task: TabularOptions.Task = .auto

    @Option(help: "Feature scaling for CSV data, fitted on the training data and saved with the model: standard, minmax, none.",
            transform: FeatureScaling.Kind.parser(for: "--scale"))
    var scale: FeatureScaling.Kind = .standard

    @Option(help: "Hidden layer sizes of a multilayer perceptron, comma-separated (default: 64,64).")
    var layers: String?

    @Option(help: "Hidden activation of the perceptron: relu, leaky-relu, elu, gelu, tanh, sigmoid, softplus (default: relu).",
            transform: Activation.parser(for: "--activation"))
    var activation: Activation?

    @Option(parsing: .unconditional, help: "Dropout rate after each hidden layer of the perceptron (default: none).")
    var dropout: Double?

    @Option(help: ArgumentHelp(
        "The whole network, one layer per comma-separated item, instead of --layers.",
        discussion: "For example \"conv 32 3x3 relu, maxpool 2, conv 64 3x3 relu, maxpool 2, flatten, dropout 0.5, dense 10\". Items: conv FILTERS KxK [stride S] [same|valid|pad P] [nobias] [ACTIVATION]; maxpool K [stride S]; avgpool K [stride S]; gap; flatten; dropout RATE; dense UNITS [ACTIVATION]; batchnorm; layernorm; or an activation (relu, leaky-relu, elu, gelu, tanh, sigmoid, softplus, softmax). Input sizes follow from the data; the last layer must produce one output per class.",
        valueName: "description"))
    var model: String?

    @Option(help: ArgumentHelp(
        "Fine-tune this model file (one `backprop train` or `backprop import` wrote) instead of a new network: its layers, weights, loss, classes and preprocessing are kept, and --data is read the way the model reads data.",
        valueName: "model"))
    var initialModel: String?

    @Option(help: ArgumentHelp("The shape of one sample, CxHxW (or HxW for one channel), when CSV rows are images; IDX data are 1×rows×columns already.", valueName: "shape"))
    var inputShape: String?

    @Option(help: "Loss: softmax-cross-entropy, cross-entropy, binary-cross-entropy, mse (½-squared error), mean-squared-error, mae, huber; a parameter follows a colon (huber:0.5 for δ, softmax-cross-entropy:0.1 for label smoothing).",
            transform: LossArgument.parser(for: "--loss"))
    var loss: LossArgument?

    @Option(help: ArgumentHelp("Weight each class's samples in the training loss: balanced (n / (classes × the class's count), as scikit-learn's) or one weight per class, comma-separated, in the classes' order.", valueName: "weights"))
    var classWeights: String?

    @Option(help: "Optimizer: sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad.", transform: OptimizerName.parser(for: "--optimizer"))
    var optimizer: OptimizerName = .adam

    @Option(parsing: .unconditional, help: "Learning rate η (default: 0.001 for adam, adamw and rmsprop; 0.01 for sgd, momentum, nesterov and adagrad).")
    var learningRate: Double?

    @Option(help: "Learning-rate schedule: constant; cosine (from the learning rate down to 0 over --epochs); step:EVERY:FACTOR (× FACTOR every EVERY epochs); exponential:DECAY (× DECAY every epoch).")
    var schedule = "constant"

    @Option(parsing: .unconditional, help: "Raise the learning rate linearly from η/N to η over the first N epochs, then follow --schedule.")
    var warmupEpochs = 0

    @Option(help: ArgumentHelp("Multiply the learning rate by FACTOR when the validation loss (the training loss without --validation-split) has not improved for PATIENCE epochs.", valueName: "factor:patience"))
    var reduceLrOnPlateau: String?

    @Option(help: "Precision of the matrix products: float32, or bf16 (operands rounded to bfloat16, sums in Float32, on AVX512_BF16's vdpbf16ps where the processor has it and on a portable path with the same bits elsewhere; weights, optimizer state and model files stay Float32). bf16 runs on the fused perceptron and convolutional steps (classifiers under softmax + cross-entropy); it is faster where the processor has the instruction, and many times slower on the portable path.",
            transform: PrecisionName.parser(for: "--precision"))
    var precision: PrecisionName = .float32

    @Option(parsing: .unconditional, help: "Weight decay λ (L2 for most optimizers, decoupled for adamw).")
    var weightDecay = 0.0

    @Option(parsing: .unconditional, help: "Clip the gradients' global norm to this value.")
    var clipNorm: Double?

    @Option(parsing: .unconditional, help: "Maximum number of epochs.")
    var epochs = 200

    @Option(parsing: .unconditional, help: "Samples per mini-batch (default: 32, or 128 for more than 12 800 training samples).")
    var batchSize: Int?

    @Option(parsing: .unconditional, help: "Seed of initialisation, shuffling and generated data.")
    var seed: UInt64 = 42

    @Option(parsing: .unconditional, help: "Fraction of the training data held out for validation (0 for none).")
    var validationSplit = 0.0

    @Option(parsing: .unconditional, help: "Stop when the training loss changes by less than this for --patience consecutive epochs.")
    var stopWhenLossChangeBelow: Double?

    @Option(parsing: .unconditional, help: "Consecutive epochs for --stop-when-loss-change-below.")
    var patience = 3

    @Option(parsing: .unconditional, help: "Stop when the validation loss (the training loss without --validation-split) has not improved for this many epochs, restoring the best weights.")
    var earlyStoppingPatience: Int?

    @Option(help: "Save the trained model (safetensors) to this file.")
    var output: String?

    @Flag(help: "Overwrite an existing file at --output, --checkpoint, --metrics or --plot even if it is not what that option writes (a model replaced by metrics, a CSV by a model).")
    var force = false

    @Option(help: "Checkpoint file: written every --checkpoint-every epochs, on Ctrl-C (default backprop.checkpoint.safetensors) and when training stops on a non-finite value.")
    var checkpoint: String?

    @Option(parsing: .unconditional, help: "Write the checkpoint every N epochs (0: only on Ctrl-C or a non-finite stop).")
    var checkpointEvery = 0

    @Option(help: "Resume an interrupted run from this checkpoint (pass the same options as the original run; --epochs may be raised).")
    var resume: String?

    @Option(help: "Write per-epoch metrics to this CSV file.")
    var metrics: String?

    @Option(help: "Write an SVG chart of loss and accuracy per epoch to this file.")
    var plot: String?

    @Option(help: ArgumentHelp("Write TensorBoard event files to this directory: loss, accuracy and learning-rate scalars, per-layer gradient and weight norms, and histograms of weights and gradients, every epoch (view with: tensorboard --logdir DIR).", valueName: "directory"))
    var tensorboard: String?

    @Option(parsing: .unconditional, help: "Every N epochs, check the gradients of sampled parameters against finite differences (Float64) and stop if the check fails.")
    var gradcheckEvery = 0

    @Flag(help: "After every epoch, print each layer's gradient norm ‖∂J/∂W‖, weight norm ‖W‖, update ratio ‖ΔW‖/‖W‖ and fraction of dead ReLU units.")
    var gradientReport = false

    @Flag(help: "Print only the final result.")
    var quiet = false

    func validate() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be positive, got \(epochs)") }
        if let batchSize, batchSize <= 0 { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) {
            throw ValidationError("--learning-rate must be a positive number, got \(learningRate)")
        }
        guard (0..<1).contains(validationSplit) else { throw ValidationError("--validation-split must be in [0, 1), got \(validationSplit)") }
        guard patience > 0 else { throw ValidationError("--patience must be positive, got \(patience)") }
        guard gradcheckEvery >= 0 else { throw ValidationError("--gradcheck-every must not be negative, got \(gradcheckEvery)") }
        guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must not be negative, got \(checkpointEvery)") }
        if checkpointEvery > 0 && checkpoint == nil { throw ValidationError("--checkpoint-every needs --checkpoint FILE") }
        guard weightDecay >= 0 && weightDecay.isFinite else {
            throw ValidationError("--weight-decay must be a finite number, 0 or more, got \(weightDecay)")
        }
        if let clipNorm, !(clipNorm > 0) { throw ValidationError("--clip-norm must be positive, got \(clipNorm)") }
        if let earlyStoppingPatience, earlyStoppingPatience <= 0 {
            throw ValidationError("--early-stopping-patience must be positive, got \(earlyStoppingPatience)")
        }
        if let threshold = stopWhenLossChangeBelow, !(threshold > 0) {
            throw ValidationError("--stop-when-loss-change-below must be positive, got \(threshold)")
        }
        if let dropout, !(0..<1).contains(dropout) { throw ValidationError("--dropout must be in [0, 1), got \(dropout)") }
        if dropout != nil && (model != nil || initialModel != nil) {
            throw ValidationError("--dropout adds dropout to the --layers perceptron; write 'dropout RATE' items in --model instead")
        }
        guard warmupEpochs >= 0 else { throw ValidationError("--warmup-epochs must not be negative, got \(warmupEpochs)") }
        _ = try parsedPlateau()
        if initialModel != nil, let clash = [("--model", model), ("--layers", layers), ("--activation", activation?.name), ("--input-shape", inputShape)].first(where: { $0.1 != nil }) {
            throw ValidationError("--initial-model brings its own network; \(clash.0) cannot be used with it")
        }
        if model != nil && (layers != nil || activation != nil) {
            throw ValidationError("--model describes the whole network; --layers and --activation cannot be used with it")
        }
        _ = try modelDescription()
        _ = try parsedInputShape()
        _ = try hiddenSizes()
        _ = try parsedSchedule()
    }

    func run() throws {
        computation.apply()
        Interruption.install()
        // Under an MPI launcher, every process runs this command on its share of each batch (see `Trainer`).
        let launched = try MPICommunicator.launched()
        guard let world = launched, world.size > 1 else {
            // Alone, even under a launcher (mpirun -np 1): the single-process path, MPI finalised as it must be.
            defer { launched?.finalize() }
            return try train(processes: nil)
        }
        do {
            try train(processes: world)
            world.finalize()
        } catch let exit as ExitCode {
            // Interrupted or stopped on a non-finite value: every process stops at the same batch.
            world.finalize()
            throw exit
        } catch {
            // The others would wait for this process at the next sum: end the job.
            printError("Error (process \(world.rank) of \(world.size)): \(error)")
            world.abort(code: 1)
        }
    }

    /// Trains, alone or as one of `processes`: only the first process (rank 0) prints and writes files.
    private func train(processes world: MPICommunicator?) throws {
        let root = (world?.rank ?? 0) == 0
        let quiet = self.quiet || !root
        let (output, metrics, plot, checkpoint, tensorboard) = root ? (output, metrics, plot, checkpoint, tensorboard) : (nil, nil, nil, nil, nil)
        if root { try checkOutputs() }
        let source = try DataSource(parsing: data)
        var reading = try csv.tabular()
        reading.missing = missing
        reading.task = task
        let initial = try initialModel.map { try SavedModel<Float>.read(from: $0) }
        let prepared: PreparedData<Float> = try initial.map { try prepareForFineTuning($0, source: source, options: reading) }
            ?? source.prepareForTraining(options: reading, scaling: scale, seed: seed)
        printNotices(prepared.notices)
        var training = prepared.data
        var validation: AnyTrainingData<Float>?
        if validationSplit > 0 { (training, validation) = try split(training) }

        // A batch larger than the data is the whole data, as in every framework.
        let batchSize = Swift.min(self.batchSize ?? (training.count > 12_800 ? 128 : 32), training.count)
        let isClassification = prepared.classNames != nil
        let lossFunction: any Loss = loss?.loss ?? initial?.info.loss
            ?? (isClassification ? .softmaxCrossEntropy : .halfSquaredError as any Loss)
        if let initial, !lossFunction.isSame(as: initial.info.loss) {
            throw ValidationError("--loss \(lossFunction) differs from the loss \(initialModel!) was trained with (\(initial.info.loss)); fine-tuning keeps it")
        }
        if isClassification != lossFunction.isClassification {
            throw ValidationError("--loss \(lossFunction) does not fit \(isClassification ? "class labels" : "numeric targets")")
        }
        let outputs = prepared.classNames.map { lossFunction is BinaryCrossEntropy && $0.count == 2 ? 1 : $0.count } ?? 1
        let sampleShape = try initial?.model.fixedInputShape ?? self.sampleShape(of: prepared)
        let fresh = try initial?.model ?? makeModel(sampleShape: sampleShape, outputs: outputs, loss: lossFunction)
        let resumed = try resume.map { path -> CheckpointFile<Float> in
            let file = try CheckpointFile<Float>.read(from: path)
            try checkResumable(file, path: path, model: fresh, batchSize: batchSize, loss: lossFunction, processes: world?.size ?? 1)
            return file
        }
        let model = resumed?.saved.model ?? fresh
        var info = ModelInfo(task: isClassification ? .classification : .regression, classNames: prepared.classNames,
                             featureNames: prepared.featureNames, preprocessing: prepared.preprocessing,
                             loss: lossFunction, labelColumn: prepared.labelColumn, training: nil, columns: prepared.columns,
                             ignoredColumns: prepared.ignoredColumns, targetScaling: prepared.targetScaling)

        let testSource = try testData.map(DataSource.init(parsing:)) ?? (source.isBuiltin ? source : nil)
        let test: AnyTrainingData<Float>? = try testSource.map { testSource in
            let prepared: PreparedData<Float> = try testSource.prepare(
                for: info, split: .test, seed: seed, options: TabularOptions(delimiter: reading.delimiter))
            printNotices(prepared.notices)
            guard prepared.hasTargets else {
                throw DataError.mismatch("--test-data \(testSource) has no label column '\(info.labelColumn ?? "")', so it cannot be tested against")
            }
            guard prepared.data.featureCount == training.featureCount else {
                throw DataError.mismatch("--test-data has \(prepared.data.featureCount) features per sample, the training data \(training.featureCount)")
            }
            return prepared.data
        }

        var criteria: [StoppingCriterion] = []
        if let threshold = stopWhenLossChangeBelow { criteria.append(.lossChange(below: threshold, patience: patience)) }
        if let patience = earlyStoppingPatience { criteria.append(.earlyStopping(patience: patience, restoreBestWeights: true)) }
        // Counted only for --class-weights (balanced weights need them), batch by batch.
        let classCounts = classWeights == nil ? nil : training.classCount.map { classes in
            training.batches(size: 4096).reduce(into: [Int](repeating: 0, count: classes)) { counts, batch in
                for label in batch.targets.classIndices { counts[label] += 1 }
            }
        }
        var trainer = Trainer(loss: lossFunction, optimizer: try parsedOptimizer(), batchSize: batchSize, epochs: epochs,
                              stoppingCriteria: criteria, clipping: clipNorm.map { .globalNorm($0) },
                              classWeights: try parsedClassWeights(counts: classCounts), seed: seed, communicator: world)
        trainer.precision = precision.precision
        if !quiet {
            let features = sampleShape.count > 1 ? "samples of \(sampleShape.map(String.init).joined(separator: "×"))"
                : "\(training.featureCount) features"
            print("data: \(source) — \(training.count) samples, \(features)"
                  + (prepared.classNames.map { ", \($0.count) classes" } ?? ", regression")
                  + (validation.map { ", \($0.count) held out for validation" } ?? ""))
            print("kernels: \(KernelBackend.preferred)")
            print(model.summary)
            print("loss: \(lossFunction), optimizer: \(trainer.optimizer), learning rate \(rate), batch \(batchSize), seed \(seed)"
                  + (precision == .float32 ? "" : ", products in \(trainer.precision)"))
            if trainer.precision.runsOnPortablePath {
                print("note: this processor has no AVX512_BF16, so bf16 products run on the portable path: the same bits as "
                      + "the instruction's, many times slower than float32 (for checking a model, not for speed)")
            }
            if let world {
                print("processes: \(world.size) (MPI: \(world.library)), batch \(batchSize) per process, global batch \(batchSize * world.size)")
            }
        }

        if let resumed, !quiet {
            print("resuming from \(resume!) after \(resumed.checkpoint.completedEpochs) epochs"
                  + (resumed.checkpoint.batchesDone > 0 ? " and \(resumed.checkpoint.batchesDone) batches" : ""))
        }
        var progress = ProgressDisplay(enabled: !quiet, epochs: epochs)
        var monitor = GradientHealthMonitor()
        var checkpointInfo = info
        checkpointInfo.training = try record(stopReason: "", history: [], batchSize: batchSize, loss: lossFunction, processes: world?.size ?? 1)
        let checkpointWriter = ModelCheckpoint(path: checkpoint ?? "backprop.checkpoint.safetensors",
                                               every: Swift.max(checkpointEvery, 1), model: model, info: checkpointInfo)
        var callbacks: [any Callback] = []
        if gradcheckEvery > 0 {
            callbacks.append(GradientCheckCallback(model: model, data: training, loss: lossFunction, every: gradcheckEvery, quiet: quiet))
        }
        if gradientReport && !quiet {
            let (inputs, targets) = training.batch(at: Array(0..<Swift.min(512, training.count)))
            var probe = TrainingBatch<Float>()
            probe.inputs = inputs
            probe.targets = targets
            callbacks.append(GradientReportCallback(model: model, probe: probe, loss: lossFunction, precision: trainer.precision))
        }
        if let plateau = try parsedPlateau() { callbacks.append(plateau) }
        if let metrics { callbacks.append(CSVLogger(path: metrics)) }
        if let tensorboard { callbacks.append(TensorBoardLogger(directory: tensorboard)) }
        if checkpointEvery > 0 { callbacks.append(checkpointWriter) }
        Interruption.trainingStarted()
        let result = try trainer.fit(model, on: training, validation: validation, test: test,
                                     resumingFrom: resumed?.checkpoint, callbacks: callbacks, onEvent: { event in
            switch event {
            case .batchEnded(let batch): progress.batchEnded(batch, batchSize: batchSize * (world?.size ?? 1))
            case .epochEnded(let report):
                progress.epochEnded(report)
                if !quiet { monitor.observe(report).forEach { printError($0.description) } }
            }
        }, shouldStop: { Interruption.requested })
        if progress.live { print("") }
        if root { print("stopped: \(result.stopReason)") }
        if let world {
            let agreement = try ParameterAgreement.check(result.model.parameters + result.model.state, across: world)
            if root { print(agreement) }
        }
        switch result.stopReason {
        case .interrupted:
            guard root else { throw ExitCode(Interruption.exitStatus) }
            // Ctrl-C always leaves a checkpoint, so that the run can be resumed.
            let path = checkpointWriter.path
            try checkpointWriter.write(result.checkpoint, reason: "\(result.stopReason)")
            printError("interrupted: wrote \(path); continue with: backprop train --resume \(path) <the same options>")
            throw ExitCode(Interruption.exitStatus)
        case .nonFinite:
            if let checkpoint {
                try checkpointWriter.write(result.checkpoint, reason: "\(result.stopReason)")
                printError("wrote the last finite weights to \(checkpoint)")
            }
        default:
            if checkpoint != nil, checkpointEvery > 0 { try checkpointWriter.write(result.checkpoint, reason: "\(result.stopReason)") }
        }
        guard root else {
            if case .nonFinite = result.stopReason { throw ExitCode.failure }
            return
        }
        let final = trainer.evaluate(result.model, on: training)
        print("training: loss \(format(final.loss))" + (final.accuracy.map { ", accuracy \(percent($0))" } ?? ""))
        if let test, let testSource {
            let evaluation = trainer.evaluate(result.model, on: test)
            print("test (\(testSource)\(testData == nil ? ", fresh samples" : "")): loss \(format(evaluation.loss))"
                  + (evaluation.accuracy.map { ", accuracy \(percent($0))" } ?? ""))
        }
        info.training = try record(stopReason: "\(result.stopReason)", history: result.history, batchSize: batchSize, loss: lossFunction, processes: world?.size ?? 1)
        // The model last: a chart that cannot be written fails the run before the model is replaced.
        if let plot { try AtomicFile.write(Array(TrainingChart(history: result.history).svg.utf8), to: plot) }
        if let output {
            try SavedModel(model: result.model, info: info).write(to: output)
            if !quiet { print("saved model to \(output)") }
        }
        if case .nonFinite = result.stopReason { throw ExitCode.failure }
    }
}
