import BackpropCore
import BackpropData
import BackpropNN
import Dispatch
import Foundation
import Synchronization
import Testing

/// Training gives the same model, bit for bit, on any number of threads: every kernel splits its work by the work's
/// size and adds partial sums in a fixed order (`ParallelWork`). This machine may have fewer cores than threads;
/// oversubscribing it is slow but changes nothing else.
@Suite("Thread counts", .serialized)
struct ThreadCountTests {
    static let counts = [1, 2, 3, 4, 7]

    /// Runs `body` with each thread count and returns its results; restores the default afterwards.
    func withEachThreadCount<R>(_ body: () throws -> R) rethrows -> [R] {
        defer { Parallelism.use(threads: Parallelism.defaultThreads) }
        return try Self.counts.map { threads in
            Parallelism.use(threads: threads)
            #expect(Parallelism.threads == threads)
            return try body()
        }
    }

    static func data(samples: Int, features: Int, classes: Int, seed: UInt64) throws -> InMemoryDataset<Float> {
        var generator = SeededGenerator(seed: seed)
        let x = (0..<(samples * features)).map { _ in Float.random(in: -1...1, using: &generator) }
        var labels: [Int] = []
        for sample in 0..<samples {
            let start = sample * features
            let total: Float = x[start..<(start + 8)].reduce(0, +)
            labels.append(Int((total * 10).magnitude) % classes)
        }
        return try InMemoryDataset(features: Tensor(shape: [samples, features], elements: x), labels: labels, classCount: classes)
    }

    static func bits(_ tensors: [Tensor<Float>]) -> [[UInt32]] {
        tensors.map { $0.scalars.map(\.bitPattern) }
    }

    @Test func aPerceptronTrainsToTheSameBitsOnAnyNumberOfThreads() throws {
        // Large enough for every parallel path: products over 500 000 operations, element-wise passes over 16 384
        // values, parameter updates over 65 536.
        let data = try Self.data(samples: 512, features: 96, classes: 10, seed: 1)
        let model = Sequential<Float>.multilayerPerceptron(sizes: [96, 768, 128, 10], activation: .relu, seed: 2)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.001), batchSize: 128, epochs: 2, seed: 3)
        let results = try withEachThreadCount { Self.bits(try trainer.fit(model, on: data).model.parameters) }
        for (threads, result) in zip(Self.counts, results).dropFirst() {
            let same = result == results[0]  // compared first, so that a failure does not print every weight
            #expect(same, "\(threads) threads trained other weights than 1 thread")
        }
    }

    /// The W1 workload (784-128-10, SGD 0.1, batch 64) on the first 4096 Fashion-MNIST images: the real data path
    /// (batches gathered from the image bytes) and the fused dense step.
    @Test(.enabled(if: FashionMNISTTests.installed, "Fashion-MNIST is not installed: apt-get install -y dataset-fashion-mnist"))
    func w1OnASubsetTrainsToTheSameBitsOnAnyNumberOfThreads() throws {
        let training: ImageDataset<Float> = try IDXDirectory.fashionMNIST(split: .train).prefix(4096)
        let model = Sequential<Float>.multilayerPerceptron(sizes: [784, 128, 10], activation: .relu, seed: 0)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: SGD(learningRate: 0.1), batchSize: 64, epochs: 1, seed: 0)
        let results = try withEachThreadCount { Self.bits(try trainer.fit(model, on: training).model.parameters) }
        for (threads, result) in zip(Self.counts, results).dropFirst() {
            let same = result == results[0]
            #expect(same, "\(threads) threads trained other weights than 1 thread")
        }
    }

    @Test func aConvolutionalNetworkTrainsToTheSameBitsOnAnyNumberOfThreads() throws {
        let data = try Self.data(samples: 96, features: 144, classes: 3, seed: 4)
        let description = try ModelDescription(parsing: "conv 8 3x3 same nobias, batchnorm, relu, maxpool 2, conv 16 3x3 relu, flatten, dropout 0.25, dense 3")
        let model: Sequential<Float> = try description.build(inputShape: [1, 12, 12], seed: 5)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01), batchSize: 48, epochs: 2, seed: 6)
        let results = try withEachThreadCount {
            let trained = try trainer.fit(model, on: data).model
            return Self.bits(trained.parameters + trained.state)
        }
        for (threads, result) in zip(Self.counts, results).dropFirst() {
            let same = result == results[0]  // compared first, so that a failure does not print every weight
            #expect(same, "\(threads) threads trained other weights than 1 thread")
        }
    }

    @Test func kernelsGiveTheSameBitsWhenTheThreadsDoNotDivideTheWork() {
        var generator = SeededGenerator(seed: 7)
        func random(_ shape: [Int]) -> Tensor<Float> {
            Tensor(shape: shape, elements: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -2...2, using: &generator) })
        }
        // Sizes that split unevenly: a prime number of elements, odd rows and columns.
        let a = random([257, 131]), b = random([131, 389]), w = random([100_003])
        // Magnitudes from 10⁻³ to 10³, so that a sum in another order rounds differently.
        let v = Tensor<Float>(shape: [100_003], elements: (0..<100_003).map { _ in
            Float.random(in: 1...2, using: &generator) * pow(10, Float.random(in: -3...3, using: &generator))
        })
        let results = withEachThreadCount { () -> [[UInt32]] in
            let product = a.matmul(b)
            let transposed = a.transposed().matmul(a)
            let sum = v + w
            let norm = Tensor<Float>(Float(v.norm))
            return Self.bits([product, transposed, sum, norm, relu(product)])
        }
        for (threads, result) in zip(Self.counts, results).dropFirst() {
            let same = result == results[0]
            #expect(same, "\(threads) threads computed other bits than 1 thread")
        }
    }

    /// Products on OpenBLAS split into the same two halves on any number of threads (on one, one after the other),
    /// so they give the same bits.
    @Test(.enabled(if: KernelBackend.preferred == .openBLAS)) func largeOpenBLASProductsGiveTheSameBitsOnAnyNumberOfThreads() {
        var generator = SeededGenerator(seed: 9)
        let (m, n, k) = (512, 301, 400)
        let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &generator) }
        let b = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &generator) }
        let results = withEachThreadCount { () -> [UInt32] in
            var c = [Float](repeating: 0, count: m * n)
            GEMM.multiply(GEMMProblem(m: m, n: n, k: k), a, b, &c, backend: .openBLAS)
            return c.map(\.bitPattern)
        }
        for (threads, result) in zip(Self.counts, results).dropFirst() {
            let same = result == results[0]
            #expect(same, "\(threads) threads computed other bits than 1 thread")
        }
    }

    /// A caller that changes the thread count while other threads compute (these tests do so while other suites run)
    /// changes none of their results: each piece of work fixes its split when it is made.
    @Test func changingTheThreadCountWhileOthersComputeChangesNoResult() {
        var generator = SeededGenerator(seed: 8)
        let a = Tensor<Float>(shape: [200, 300], elements: (0..<60_000).map { _ in Float.random(in: -1...1, using: &generator) })
        let b = Tensor<Float>(shape: [300, 250], elements: (0..<75_000).map { _ in Float.random(in: -1...1, using: &generator) })
        let expected = a.matmul(b).scalars.map(\.bitPattern)
        let wrong = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            if caller == 0 {
                for round in 0..<200 { Parallelism.use(threads: [1, 3, 2, 7, 4][round % 5]) }
            } else {
                for _ in 0..<60 where a.matmul(b).scalars.map(\.bitPattern) != expected {
                    wrong.withLock { $0 += 1 }
                }
            }
        }
        Parallelism.use(threads: Parallelism.defaultThreads)
        #expect(wrong.withLock { $0 } == 0)
    }
}
