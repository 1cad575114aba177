import BackpropCore
import BackpropTestSupport
import Testing

@Suite("Tensor values")
struct TensorTests {
    @Test func creationAndShapes() {
        #expect(Tensor<Float>.zeros(shape: [2, 3]).scalars == [0, 0, 0, 0, 0, 0])
        #expect(Tensor<Double>.ones(shape: [2]).scalars == [1, 1])
        #expect(Tensor<Double>.identity(size: 2).scalars == [1, 0, 0, 1])
        #expect(Tensor<Double>.range(to: 5).scalars == [0, 1, 2, 3, 4])
        #expect(Tensor<Double>.range(from: 1, to: 2, by: 0.25).scalars == [1, 1.25, 1.5, 1.75])
        #expect(Tensor<Double>.linearSpace(from: 0, to: 1, count: 5).scalars == [0, 0.25, 0.5, 0.75, 1])
        #expect(Tensor<Double>(3).rank == 0)
        let t = Tensor<Double>(shape: [2, 1, 2, 1], elements: [1, 2, 3, 4])
        #expect(t[1, 0, 0, 0] == 3)
        #expect(t.reshaped(to: [-1, 2]).shape == [2, 2])
    }

    /// Every buffer starts on a cache line, whatever its size and however it was made (malloc gives 16 bytes).
    @Test func buffersStartOnACacheLine() {
        var tensors: [Tensor<Float>] = [1, 3, 17, 1000, 100_000].map { Tensor.zeros(shape: [$0]) }
        tensors.append(Tensor([1, 2, 3]))
        tensors.append(tensors[3] + 1)
        for tensor in tensors {
            #expect(tensor.withUnsafePointer { Int(bitPattern: $0) % 64 } == 0, "\(tensor.shape)")
        }
        #expect(Tensor<Double>.ones(shape: [5, 7]).withUnsafePointer { Int(bitPattern: $0) % 64 } == 0)
    }

    @Test func copyOnWrite() {
        let a = Tensor<Double>([1, 2, 3])
        var b = a
        #expect(a.sharesStorage(with: b))
        b[0] = 10
        #expect(!a.sharesStorage(with: b))
        #expect(a.scalars == [1, 2, 3])
        #expect(b.scalars == [10, 2, 3])
    }

    @Test func seededRandomIsReproducible() {
        var g1 = SeededGenerator(seed: 42)
        var g2 = SeededGenerator(seed: 42)
        let a = Tensor<Float>.normal(shape: [100], using: &g1)
        let b = Tensor<Float>.normal(shape: [100], using: &g2)
        #expect(a == b)
        var g3 = SeededGenerator(seed: 43)
        #expect(a != Tensor<Float>.normal(shape: [100], using: &g3))
        let u = Tensor<Double>.uniform(shape: [1000], in: -2...3, using: &g1)
        #expect(u.scalars.allSatisfy { $0 >= -2 && $0 < 3 })
        let mean = u.mean().scalar
        #expect(Swift.abs(mean - 0.5) < 0.15)
    }

    @Test func broadcastingArithmetic() {
        let m = Tensor<Double>([[1, 2, 3], [4, 5, 6]])
        let row = Tensor<Double>([10, 20, 30])
        let column = Tensor<Double>(shape: [2, 1], elements: [100, 200])
        #expect((m + row).scalars == [11, 22, 33, 14, 25, 36])
        #expect((m * column).scalars == [100, 200, 300, 800, 1000, 1200])
        #expect((row - column).shape == [2, 3])
        #expect((row - column).scalars == [-90, -80, -70, -190, -180, -170])
        #expect((2 / Tensor<Double>([1, 4])).scalars == [2, 0.5])
        #expect((-m).scalars == [-1, -2, -3, -4, -5, -6])
        let a = Tensor<Double>(shape: [2, 1, 3], elements: [1, 2, 3, 4, 5, 6])
        let b = Tensor<Double>(shape: [4, 1], elements: [0, 1, 2, 3])
        let c = a + b
        #expect(c.shape == [2, 4, 3])
        #expect(c[1, 3, 2] == 6 + 3)
        #expect(Shape.broadcast([2, 3], [3, 2]) == nil)
    }

    @Test func elementwiseFunctionsMatchHandValues() {
        let x = Tensor<Double>([-2, -0.5, 0, 0.5, 2])
        let expectedSigmoid = [-2.0, -0.5, 0, 0.5, 2].map { 1 / (1 + Foundation_exp(-$0)) }
        #expect(TestData.maxDifference(sigmoid(x), Tensor(expectedSigmoid)) < 1e-15)
        #expect(relu(x).scalars == [0, 0, 0, 0.5, 2])
        #expect(leakyReLU(x, slope: 0.1).scalars == [-0.2, -0.05, 0, 0.5, 2])
        #expect(clamp(x, lower: -1, upper: 1).scalars == [-1, -0.5, 0, 0.5, 1])
        #expect(abs(x).scalars == [2, 0.5, 0, 0.5, 2])
        #expect(square(x).scalars == [4, 0.25, 0, 0.25, 4])
        #expect(Swift.abs(softplus(Tensor<Double>([0])).scalar - Foundation_log(2)) < 1e-15)
        // softplus stays finite far from zero.
        #expect(softplus(Tensor<Double>([1000, -1000])).scalars == [1000, 0])
        #expect(Swift.abs(elu(Tensor<Double>([-1])).scalar - (Foundation_exp(-1) - 1)) < 1e-15)
        #expect(Swift.abs(gelu(Tensor<Double>([1])).scalar - 0.8413447460685429) < 1e-12)
        #expect(Swift.abs(tanh(Tensor<Double>([0.5])).scalar - 0.46211715726000974) < 1e-15)
        let saturated = sigmoid(Tensor<Float>([-100, 100]))
        #expect(saturated.isFinite && saturated[0] < 1e-30 && saturated[1] == 1)
        #expect(pow(Tensor<Double>([-2]), 3).scalars == [-8])
        #expect(pow(Tensor<Double>([2, 3]), 3).scalars == [8, 27])
        #expect((Tensor<Double>([1, 2, 3]) .> 2).scalars == [0, 0, 1])
    }

    @Test func reductions() {
        let m = Tensor<Double>([[1, 5, 3], [4, 2, 6]])
        #expect(m.sum().scalar == 21)
        #expect(m.sum(alongAxis: 0).scalars == [5, 7, 9])
        #expect(m.sum(alongAxis: 1, keepingDimensions: true).shape == [2, 1])
        #expect(m.sum(alongAxis: -1).scalars == [9, 12])
        #expect(m.mean(alongAxis: 0).scalars == [2.5, 3.5, 4.5])
        #expect(m.max(alongAxis: 1).scalars == [5, 6])
        #expect(m.max().scalar == 6)
        #expect(m.min().scalar == 1)
        #expect(m.argmax(alongAxis: 1) == [1, 2])
        #expect(Tensor<Double>([[3, 4]]).norm == 5)
        #expect(m.argmax(alongAxis: 0) == [1, 0, 1])
        let t = Tensor<Double>.range(to: 24).reshaped(to: [2, 3, 4])
        #expect(t.sum(alongAxes: [0, 2]).scalars == [60, 92, 124])
    }

    @Test func shapeOperations() {
        let m = Tensor<Double>([[1, 2, 3], [4, 5, 6]])
        #expect(m.transposed().scalars == [1, 4, 2, 5, 3, 6])
        #expect(m.gatheringRows([1, 1, 0]).scalars == [4, 5, 6, 4, 5, 6, 1, 2, 3])
        #expect(m.rows(1..<2).scalars == [4, 5, 6])
        let joined = Tensor.concatenating([m, Tensor([[7, 8, 9]])], alongAxis: 0)
        #expect(joined.shape == [3, 3])
        let side = Tensor.concatenating([m, Tensor(shape: [2, 1], elements: [0, 0])], alongAxis: 1)
        #expect(side.scalars == [1, 2, 3, 0, 4, 5, 6, 0])
        let t = Tensor<Double>.range(to: 24).reshaped(to: [2, 3, 4])
        let p = t.transposed(permutation: [2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        #expect(p[3, 1, 2] == t[1, 2, 3])
        #expect(Tensor<Double>([1, 2]).broadcast(to: [2, 2]).scalars == [1, 2, 1, 2])
    }

    @Test func softmaxIsStableAndNormalised() {
        let logits = Tensor<Float>([[1000, 1001, 1002], [-5, 0, 5]])
        let p = logits.softmax(alongAxis: 1)
        #expect(p.isFinite)
        let rowSums = p.sum(alongAxis: 1).scalars
        #expect(rowSums.allSatisfy { Swift.abs($0 - 1) < 1e-6 })
        // Same values as the shifted logits [0, 1, 2].
        let q = Tensor<Float>([[0, 1, 2]]).softmax()
        #expect(Swift.abs(p[0, 2] - q[0, 2]) < 1e-6)
        let lse = Tensor<Double>([[1000, 1000]]).logSumExp(alongAxis: 1)
        #expect(Swift.abs(lse.scalar - (1000 + Foundation_log(2))) < 1e-9)
        let ls = Tensor<Double>([[1, 2, 3]]).logSoftmax()
        let direct = [1.0, 2, 3].map { $0 - Foundation_log(Foundation_exp(1) + Foundation_exp(2) + Foundation_exp(3)) }
        #expect(TestData.maxDifference(ls, Tensor([direct])) < 1e-14)
    }

    @Test func softmaxCrossEntropyValue() {
        let z = Tensor<Double>([[2, 1, 0.1]])
        let y = Tensor<Double>([[1, 0, 0]])
        let expected = -Foundation_log(Foundation_exp(2) / (Foundation_exp(2) + Foundation_exp(1) + Foundation_exp(0.1)))
        #expect(Swift.abs(softmaxCrossEntropy(logits: z, targets: y).scalar - expected) < 1e-14)
    }

    @Test func descriptionElidesLargeTensors() {
        let small = Tensor<Float>([[1, 2], [3, 4]])
        #expect(small.description.contains("Tensor<F32>[2, 2]"))
        #expect(small.description.contains("[3.0, 4.0]"))
        let large = Tensor<Double>.range(to: 100)
        #expect(large.description.contains("…"))
        #expect(large.description.contains("99.0"))
        #expect(!large.description.contains("50.0"))
    }

    /// g ⊙ f′(x) written by the fused kernel equals the graph's gradient of Σ g ⊙ f(x), for every activation's rule
    /// (whether it reads the input or the output), on more elements than one vector, and on enough rows for both
    /// passes to run in two halves on two threads.
    @Test(arguments: 0..<7, [7, 131])
    func activationDerivativeMatchesTheGraph(_ index: Int, rows: Int) throws {
        let cases: [(UnaryFunction, (Tensor<Double>) -> Tensor<Double>)] = [
            (.relu, { relu($0) }), (.tanh, { tanh($0) }), (.sigmoid, { sigmoid($0) }), (.gelu, { gelu($0) }),
            (.softplus, { softplus($0) }), (.leakyReLU(slope: 0.1), { leakyReLU($0, slope: 0.1) }),
            (.elu(alpha: 1), { elu($0, alpha: 1) }),
        ]
        let (activation, function) = cases[index]
        var generator = SeededGenerator(seed: 8)
        var x = Tensor<Double>.uniform(shape: [rows, 143], in: -3...3, using: &generator)
        var y = Tensor<Double>.zeros(shape: [rows, 143])
        x.addBias(.zeros(shape: [143]), applying: activation, into: &y)
        let g = Tensor<Double>.uniform(shape: [rows, 143], in: -1...1, using: &generator)
        var result = Tensor<Double>(shape: [rows, 143], repeating: .nan)
        result.assign(g, timesDerivativeOf: activation, input: x, output: y)

        let tracked = x.requiringGradient()
        let expected = (function(tracked) * g).sum().gradients(withRespectTo: [tracked])[0]
        #expect(TestData.maxDifference(result, expected) < 1e-12, "\(activation)")
    }

    /// The ReLU layer's passes (C loops per instruction set) give the graph's operations bit for bit — z + b, relu(z)
    /// and g where z > 0 — including at −0, +0, NaN and the infinities, on rows longer than one vector; and on a
    /// matrix large enough that each pass runs in two unequal halves on two threads.
    @Test(arguments: [5, 457])
    func reluLayerPassesMatchTheGraphBitForBit(rows: Int) {
        var generator = SeededGenerator(seed: 11)
        // Every third column has a bias of −0 (which keeps z's sign of zero) and a special value of z in some rows.
        let specials: [Float] = [-0.0, 0, .nan, .infinity, -.infinity, -Float.leastNonzeroMagnitude]
        let uniform = Tensor<Float>.uniform(shape: [rows, 37], in: -2...2, using: &generator).scalars
        let z = Tensor(shape: [rows, 37], elements: uniform.indices.map { i in
            i % 37 % 3 == 0 && (i / 37 + i % 37) % 2 == 0 ? specials[i % specials.count] : uniform[i]
        })
        let bias = Tensor(Tensor<Float>.uniform(shape: [37], in: -1...1, using: &generator).scalars.enumerated().map {
            $0 % 3 == 0 ? -0.0 : $1
        })
        let g = Tensor<Float>.uniform(shape: [rows, 37], in: -1...1, using: &generator)

        var activated = z, a = Tensor<Float>.zeros(shape: [rows, 37])
        activated.addBias(bias, applying: .relu, into: &a)
        var biased = z, unused = Tensor<Float>.zeros(shape: [0])
        biased.addBias(bias, applying: nil, into: &unused)
        var delta = Tensor<Float>.zeros(shape: [rows, 37])
        delta.assign(g, timesDerivativeOf: .relu, input: activated, output: a)

        let graphZ = z + bias
        #expect(TestData.bitDifferences(activated.scalars, graphZ.scalars) == 0)
        #expect(TestData.bitDifferences(biased.scalars, graphZ.scalars) == 0)
        #expect(TestData.bitDifferences(a.scalars, relu(graphZ).scalars) == 0)
        let graphDelta = Tensor<Float>(shape: g.shape, elements: zip(g.scalars, graphZ.scalars).map { $1 > 0 ? $0 : 0 })
        #expect(TestData.bitDifferences(delta.scalars, graphDelta.scalars) == 0)
    }

    /// The fused softmax + cross-entropy in Float (a vectorised approximation of eˣ) against the same computed in
    /// Double with the C library's exp: probabilities within a few ulp, the loss and the count of correct rows equal,
    /// logits from −100 to 100 apart (the smallest probabilities underflow to 0), label smoothing, and a NaN logit
    /// making the loss NaN.
    @Test func floatSoftmaxCrossEntropyMatchesDouble() {
        var generator = SeededGenerator(seed: 12)
        let rows = 300, classes = 10
        var logits = Tensor<Double>.uniform(shape: [rows, classes], in: -8...8, using: &generator).scalars
        for r in stride(from: 0, to: rows, by: 7) { logits[r * classes + r % classes] += 100 }  // e⁻¹⁰⁰ underflows
        let labels = (0..<rows).map { ($0 * 7) % classes }
        let float = Tensor<Float>(shape: [rows, classes], elements: logits.map(Float.init))
        let double = Tensor<Double>(shape: [rows, classes], elements: float.scalars.map(Double.init))
        for smoothing in [0.0, 0.1] {
            var deltaFloat = Tensor<Float>.zeros(shape: [rows, classes])
            var deltaDouble = Tensor<Double>.zeros(shape: [rows, classes])
            let f = deltaFloat.assignSoftmaxCrossEntropyGradient(logits: float, labels: labels, labelSmoothing: smoothing,
                                                                 scale: 1)
            let d = deltaDouble.assignSoftmaxCrossEntropyGradient(logits: double, labels: labels,
                                                                  labelSmoothing: smoothing, scale: 1)
            #expect(f.correct == d.correct)
            #expect(Swift.abs(f.loss - d.loss) <= 1e-6 * Swift.abs(d.loss), "loss \(f.loss) against \(d.loss)")
            // δ = ŷ − y to a few ulp of 1. Without smoothing, δ = ŷ off the label: to a few ulp of the probability
            // computed in Double from the same float differences z − max z (whose rounding no exponential can undo),
            // down to 10⁻³⁰, and 0 (or all but) where it is below float's smallest normal number.
            for i in deltaFloat.scalars.indices {
                let f = Double(deltaFloat.scalars[i]), d = deltaDouble.scalars[i]
                #expect(Swift.abs(f - d) <= 3e-7, "δ[\(i)] = \(f), against \(d)")
                guard smoothing == 0, i % classes != labels[i / classes] else { continue }
                let row = float.scalars[(i / classes * classes)..<((i / classes + 1) * classes)]
                let largest = row.max()!
                let shifted = row.map { Foundation_exp(Double($0 - largest)) }
                let p = Foundation_exp(Double(float.scalars[i] - largest)) / shifted.reduce(0, +)
                if p >= 1e-30 {
                    #expect(Swift.abs(f - p) <= 1e-6 * p, "ŷ[\(i)] = \(f), against \(p)")
                } else if p < 1e-38 {
                    #expect(f <= 1e-37, "ŷ[\(i)] = \(f), against \(p)")
                }
            }
        }
        var poisoned = float.scalars
        poisoned[13] = .nan
        var delta = Tensor<Float>.zeros(shape: [rows, classes])
        let result = delta.assignSoftmaxCrossEntropyGradient(
            logits: Tensor(shape: [rows, classes], elements: poisoned), labels: labels, scale: 1)
        #expect(result.loss.isNaN)
    }
}
