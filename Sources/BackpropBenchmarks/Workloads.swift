import BackpropCore
import BackpropData
import BackpropNN

/// One of the reference workloads of `../shared/bench` (same architecture, batch, optimizer, data): the perceptrons
/// W1 and W2 of `w_numpy.py`, and the convolutional networks C1 and C2 of `w_torch_cnn.py`.
struct Workload {
    /// How the network is built.
    enum Network {
        /// A ReLU perceptron of these sizes, Glorot-uniform initialised as the numpy reference is.
        case perceptron(sizes: [Int])
        /// A `--model` description over 1×28×28 images.
        case described(String)
    }

    let name: String
    let network: Network
    let batchSize: Int
    let optimizer: any Optimizer

    static let all = [
        Workload(name: "W1", network: .perceptron(sizes: [784, 128, 10]), batchSize: 64, optimizer: SGD(learningRate: 0.1)),
        Workload(name: "W2", network: .perceptron(sizes: [784, 512, 256, 10]), batchSize: 128, optimizer: Adam(learningRate: 1e-3)),
        Workload(name: "C1", network: .described("conv 32 3x3 relu, maxpool 2, conv 64 3x3 relu, maxpool 2, flatten, dropout 0.5, dense 10"),
                 batchSize: 128, optimizer: Adam(learningRate: 1e-3)),
        Workload(name: "C2", network: .described("conv 32 3x3, batchnorm, relu, maxpool 2, conv 64 3x3, batchnorm, relu, maxpool 2, flatten, dropout 0.5, dense 10"),
                 batchSize: 128, optimizer: Adam(learningRate: 1e-3)),
    ]

    /// The perceptron's sizes (W1, W2), or `nil` for a convolutional workload.
    var sizes: [Int]? {
        if case .perceptron(let sizes) = network { return sizes }
        return nil
    }

    /// The untrained network.
    func model(seed: UInt64) throws -> Sequential<Float> {
        switch network {
        case .perceptron(let sizes):
            return .multilayerPerceptron(sizes: sizes, activation: .relu, initializer: .glorotUniform, seed: seed)
        case .described(let text):
            return try ModelDescription(parsing: text).build(inputShape: [1, 28, 28], seed: seed)
        }
    }

    /// The matrix products of one training step on a full batch: per layer the forward product and ∂J/∂W, and the
    /// gradient of the input for every layer but the first (the input needs no gradient). A convolution's products
    /// are those of its unfolded input: `batch·pixels × filters × kh·kw·channels`.
    var stepProducts: [GEMMProblem] {
        let b = batchSize
        guard let model = try? model(seed: 0), let shapes = model.outputShapesOfEveryLayer else { return [] }
        var products: [GEMMProblem] = []
        for (index, (layer, output)) in zip(model.layers, shapes).enumerated() {
            let first = !model.layers[..<index].contains { !$0.parameters.isEmpty }
            if let dense = layer as? Dense<Float> {
                products += [GEMMProblem(m: b, n: dense.outputSize, k: dense.inputSize, transposeB: true),  // z = a Wᵀ
                             GEMMProblem(m: dense.outputSize, n: dense.inputSize, k: b, transposeA: true)]  // ∂J/∂W = δᵀ a
                if !first { products.append(GEMMProblem(m: b, n: dense.inputSize, k: dense.outputSize)) }  // δ W
            } else if let conv = layer as? Conv2D<Float> {
                let rows = b * output[1] * output[2], k = conv.inputChannels * conv.window.kernelHeight * conv.window.kernelWidth
                products += [GEMMProblem(m: rows, n: conv.outputChannels, k: k, transposeB: true),     // z = X̃ W̃ᵀ
                             GEMMProblem(m: k, n: conv.outputChannels, k: rows, transposeA: true)]     // ∂J/∂W̃ᵀ = X̃ᵀ δ
                if !first { products.append(GEMMProblem(m: rows, n: k, k: conv.outputChannels)) }    // δ W̃
            }
        }
        return products
    }

    /// Matrix-product FLOPs of an epoch over `samples` samples.
    func epochFLOPs(samples: Int) -> Double {
        stepProducts.map(\.flops).reduce(0, +) / Double(batchSize) * Double(samples)
    }
}

/// Trains `workload` for `epochs` epochs on Fashion-MNIST and prints the figures the performance issue asks for.
/// `seed` seeds the initial weights and the shuffles. Under `mpirun` the processes train together (the workload's
/// batch per process) and only the first prints; the time spent summing gradients is reported per epoch.
func run(_ workload: Workload, epochs: Int, seed: UInt64, precision: MatrixPrecision = .float32) throws {
    let world = try MPICommunicator.launched()
    defer { world?.finalize() }
    let processes = world?.size ?? 1
    guard (world?.rank ?? 0) == 0 else {
        try train(workload, epochs: epochs, seed: seed, communicator: world, precision: precision)
        return
    }
    let training: ImageDataset<Float> = try IDXDirectory.fashionMNIST(split: .train)
    let flops = workload.epochFLOPs(samples: training.count)
    print("backend: \(KernelBackend.preferred); element-wise kernels: \(KernelBackend.elementwiseInstructionSet)")
    let architecture = switch workload.network {
    case .perceptron(let sizes): "MLP \(sizes.map(String.init).joined(separator: "-"))"
    case .described(let text): "\"\(text)\""
    }
    print("\(workload.name): \(architecture), batch \(workload.batchSize), "
          + "\(workload.optimizer) lr \(workload.optimizer.learningRate), \(format(flops / 1e9, 2)) GFLOP of matrix products per epoch, "
          + "seed \(seed)" + (precision == .float32 ? "" : ", products in \(precision)") + (processes > 1 ? ", \(processes) processes (MPI: \(world!.library)), global batch \(workload.batchSize * processes)" : ""))
    // The products' floor timed after every epoch but the first (alone: under MPI, once after training), so that each
    // epoch is set against the machine's speed of its own minute: a shared machine's drifts more within a run than
    // this workload's epochs do.
    var floors: [Double] = []
    // Training's peak, read before any floor is timed (its operands would count); no step allocates after epoch 1.
    var trainingRSS: Double?
    let (result, countedSteps, allocations, handOffs) = try train(workload, epochs: epochs, seed: seed, communicator: world,
                                                                  precision: precision) { r in
        print("epoch \(r.epoch)  \(format(r.seconds, 3)) s  \(format(flops / r.seconds / 1e9, 1)) GFLOP/s  "
              + "test accuracy \(format(r.validationAccuracy ?? 0, 4))"
              + (r.communicationSeconds.map { "  summing gradients \(format($0, 3)) s" } ?? ""))
        guard processes == 1 else { return }
        if r.epoch == 1 { trainingRSS = peakResidentMiB() }
        if r.epoch > 1 || epochs == 1 { floors.append(gemmFloor(workload, samples: training.count, minimumSeconds: 0.15)) }
    }
    report(workload, result: result, training: training, flops: flops, processes: processes, precision: precision,
           countedSteps: countedSteps, allocations: allocations, handOffs: handOffs, floors: floors, trainingRSS: trainingRSS)
}

/// Trains `workload` (alone, or as one of `communicator`'s processes), counting allocations and hand-offs to the
/// worker pool over epoch 2's steps but its first and last.
@discardableResult
func train(_ workload: Workload, epochs: Int, seed: UInt64, communicator: MPICommunicator?,
           precision: MatrixPrecision = .float32, epochEnded: (EpochReport) -> Void = { _ in })
throws -> (TrainingResult<Sequential<Float>>, steps: Int, allocations: Int?, handOffs: Int) {
    let training: ImageDataset<Float> = try IDXDirectory.fashionMNIST(split: .train)
    let test: ImageDataset<Float> = try IDXDirectory.fashionMNIST(split: .test)
    let model = try workload.model(seed: seed)
    var trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: workload.optimizer,
                          batchSize: workload.batchSize, epochs: epochs, seed: seed, communicator: communicator)
    trainer.precision = precision
    // Allocations are counted on this thread from the end of epoch 2's first step to the end of its next-to-last.
    var countedSteps = 0
    var allocations: Int?
    // Hand-offs to the worker pool's helpers, over the same steps.
    var handOffs = (start: 0, count: 0)
    let result = try trainer.fit(model, on: training, validation: test) { event in
        switch event {
        case .batchEnded(let batch) where batch.epoch == 2:
            if batch.batch == 1 {
                if AllocationCounter.isAvailable { AllocationCounter.start() }
                handOffs.start = Parallelism.pool.handOffs
            }
            if batch.batch == batch.batchCount - 1 {
                if AllocationCounter.isAvailable { allocations = AllocationCounter.stop() }
                handOffs.count = Parallelism.pool.handOffs - handOffs.start
                countedSteps = batch.batchCount - 2
            }
        case .epochEnded(let r): epochEnded(r)
        default: break
        }
    }
    return (result, countedSteps, allocations, handOffs.count)
}

/// Prints the figures of a run of `workload` and its RESULT line.
/// Seconds an epoch of `samples` samples would take in `workload`'s matrix products alone, each timed on its own.
func gemmFloor(_ workload: Workload, samples: Int, minimumSeconds: Double = 0.05) -> Double {
    workload.stepProducts.map { gemmSeconds($0, minimumSeconds: minimumSeconds) }.reduce(0, +) * Double(samples)
        / Double(workload.batchSize)
}

/// Prints the figures of a run of `workload` and its RESULT line; `floors` are the products' floors timed after
/// epochs 2 and later (empty: timed once, now), `trainingRSS` the peak resident memory before they were.
func report(_ workload: Workload, result: TrainingResult<Sequential<Float>>, training: ImageDataset<Float>, flops: Double,
            processes: Int, precision: MatrixPrecision, countedSteps: Int, allocations: Int?, handOffs: Int,
            floors: [Double] = [], trainingRSS: Double? = nil) {
    let times = result.history.map(\.seconds)
    let accuracies = result.history.map { $0.validationAccuracy ?? 0 }
    let later = times.count > 1 ? Array(times.dropFirst()) : times
    let typical = median(later)
    let communication = result.history.compactMap(\.communicationSeconds)
    let typicalCommunication = communication.isEmpty ? nil : median(communication.count > 1 ? Array(communication.dropFirst()) : communication)
    if let typicalCommunication {
        print("summing gradients over \(processes) processes: median \(format(typicalCommunication, 3)) s per epoch, "
              + "\(format(typicalCommunication / typical * 100, 1)) % of the epoch; computing \(format(typical - typicalCommunication, 3)) s")
    }
    let productSeconds = workload.stepProducts.map { gemmSeconds($0) }
    let floors = floors.isEmpty ? [productSeconds.reduce(0, +) * Double(training.count) / Double(workload.batchSize)] : floors
    let floor = median(floors)
    // Each epoch against the floor timed right after it.
    let ratios = zip(later.suffix(floors.count), floors).map { $0 / $1 }
    let perStep = allocations.map { Double($0) / Double(max(countedSteps, 1)) }
    let rss = trainingRSS ?? peakResidentMiB()
    print("median epoch (2..\(times.count)): \(format(typical, 3)) s, \(format(flops / typical / 1e9, 1)) GFLOP/s; "
          + "first epoch \(format(times[0] / typical, 2)) × the median")
    print("GEMM floor (this process, same shapes, timed after each epoch): median \(format(floor, 3)) s per epoch; "
          + "each epoch against the floor after it: median \(format(median(ratios), 2)) × "
          + "(\(ratios.map { format($0, 2) }.joined(separator: ", ")))")
    print("  per step: " + zip(workload.stepProducts, productSeconds).map { p, t in
        "\(p.m)×\(p.n)×\(p.k)\(p.transposeA ? " Aᵀ" : "")\(p.transposeB ? " Bᵀ" : "") \(format(t * 1e6, 1)) µs"
    }.joined(separator: ", "))
    // The large products run on the portable kernel: the floor of OpenBLAS alone, for comparison.
    let blasFloor = KernelBackend.largeProductsOnPortableKernel
        ? workload.stepProducts.map { gemmSeconds($0, backend: .openBLAS) }.reduce(0, +)
            * Double(training.count) / Double(workload.batchSize)
        : nil
    if let blasFloor { print("  with every product on OpenBLAS: \(format(blasFloor, 3)) s per epoch") }
    print("peak RSS \(format(rss, 1)) MiB; allocations per step after warm-up: "
          + (perStep.map { format($0, 2) + " (over \(countedSteps) steps)" } ?? "not measured (no epoch 2, or no counter here)"))
    let handOffsPerStep = countedSteps > 0 ? Double(handOffs) / Double(countedSteps) : nil
    print("threads: \(Parallelism.threads); hand-offs to helpers per step: " + (handOffsPerStep.map { format($0, 1) } ?? "not measured"))
    print("final test accuracy \(format(accuracies.last ?? 0, 4))")
    let json = """
        {"impl": "backprop", "workload": "\(workload.name)", "backend": "\(KernelBackend.preferred)", \
        "epoch_times": [\(times.map { format($0, 4) }.joined(separator: ", "))], "first_epoch": \(format(times[0], 4)), \
        "median_rest": \(format(typical, 4)), "gemm_floor": \(format(floor, 4)), "floor_ratio": \(format(median(ratios), 3)), \
        "gemm_floor_openblas": \(blasFloor.map { format($0, 4) } ?? "null"), "peak_rss_mib": \(format(rss, 1)), \
        "allocations_per_step": \(perStep.map { format($0, 3) } ?? "null"), "threads": \(Parallelism.threads), \
        "handoffs_per_step": \(handOffsPerStep.map { format($0, 1) } ?? "null"), "processes": \(processes), "precision": "\(precision)", \
        "communication_median": \(typicalCommunication.map { format($0, 4) } ?? "null"), \
        "test_acc_per_epoch": [\(accuracies.map { format($0, 4) }.joined(separator: ", "))]}
        """
    print("RESULT \(json)")
}

/// `parity`: trains `workload` from the numpy reference's initial weights and epoch orders (its `default_rng` draws,
/// reproduced by ``ReferenceRandom``) and prints the test accuracy after every epoch, to compare with
/// `python3 ../shared/bench/w_numpy.py --workload W --epochs N --seed S`: the same experiment, so the accuracies differ
/// only by rounding. Each epoch runs on the training set reordered by that epoch's permutation, continuing from the
/// previous epoch's checkpoint (weights and optimizer state).
func runParity(_ workload: Workload, epochs: Int, seed: UInt32) throws {
    let training: ImageDataset<Float> = try IDXDirectory.fashionMNIST(split: .train)
    let test: ImageDataset<Float> = try IDXDirectory.fashionMNIST(split: .test)
    guard let sizes = workload.sizes else { throw ParityError.notAPerceptron(workload.name) }
    var model = Sequential<Float>.multilayerPerceptron(sizes: sizes, activation: .relu, initializer: .glorotUniform, seed: 0)
    var weights = ReferenceRandom(seed: seed)
    var parameters = model.parameters
    for (layer, (fanIn, fanOut)) in zip(sizes, sizes.dropFirst()).enumerated() {
        // Glorot uniform, drawn as a fanIn × fanOut matrix row by row; Backprop's weight is its transpose.
        let bound = (6.0 / Double(fanIn + fanOut)).squareRoot()
        var weight = [Float](repeating: 0, count: fanIn * fanOut)
        for i in 0..<fanIn {
            for j in 0..<fanOut { weight[j * fanIn + i] = Float(weights.uniform(-bound, bound)) }
        }
        parameters[2 * layer] = Tensor(shape: [fanOut, fanIn], elements: weight)
        parameters[2 * layer + 1] = .zeros(shape: [fanOut])
    }
    model.parameters = parameters
    var orders = ReferenceRandom(seed: seed + 1)
    let testSet = DatasetSubset(test, indices: Array(0..<test.count))
    var checkpoint: TrainingCheckpoint<Float>?
    var accuracies: [Double] = []
    for epoch in 1...epochs {
        let ordered = DatasetSubset(training, indices: orders.permutation(training.count))
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: workload.optimizer, batchSize: workload.batchSize, epochs: epoch,
                              shuffles: false, seed: UInt64(seed))
        let result = try trainer.fit(model, on: ordered, validation: testSet, resumingFrom: checkpoint)
        checkpoint = result.checkpoint
        accuracies.append(result.history.last?.validationAccuracy ?? 0)
        print("epoch \(epoch)  test accuracy \(format(accuracies.last!, 4))")
    }
    print("RESULT {\"impl\": \"backprop\", \"workload\": \"\(workload.name)\", \"seed\": \(seed), \"reference_init\": true, "
          + "\"test_acc_per_epoch\": [\(accuracies.map { format($0, 4) }.joined(separator: ", "))]}")
}

/// A `parity` run of a workload the numpy reference does not have.
enum ParityError: Error, CustomStringConvertible {
    case notAPerceptron(String)

    var description: String {
        switch self {
        case .notAPerceptron(let name): "parity reproduces the numpy reference's perceptrons W1 and W2, not \(name)"
        }
    }
}
