import BackpropCore
import BackpropNN
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The derivation of the seeds, done by hand for a 2-2-2 sigmoid network with the ½-squared-error loss, and
/// compared with what the engine computes.
///
/// Network (fixed weights; the classic worked example):
/// ```
/// x  = (0.05, 0.10)            T = (0.01, 0.99)
/// W¹ = [[0.15, 0.20],          b¹ = (0.35, 0.35)
///       [0.25, 0.30]]
/// W² = [[0.40, 0.45],          b² = (0.60, 0.60)
///       [0.50, 0.55]]
/// ```
/// Every expected value below is computed from the seeds' formulas with plain `Double` arithmetic, one line per
/// formula, independently of the engine; the comments show the values rounded.
@Suite("The seeds' 2-layer derivation, by hand")
struct WorkedExampleTests {
    static func σ(_ z: Double) -> Double { 1 / (1 + exp(-z)) }

    // Forward pass: z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = σ(z⁽ˡ⁾)
    static let z1 = [0.15 * 0.05 + 0.20 * 0.10 + 0.35,          // 0.3775
                     0.25 * 0.05 + 0.30 * 0.10 + 0.35]          // 0.3925
    static let a1 = [σ(z1[0]), σ(z1[1])]                        // 0.593269992, 0.596884378
    static let z2 = [0.40 * a1[0] + 0.45 * a1[1] + 0.60,        // 1.105905967
                     0.50 * a1[0] + 0.55 * a1[1] + 0.60]        // 1.224921404
    static let a2 = [σ(z2[0]), σ(z2[1])]                        // 0.751365070, 0.772928465
    // Loss: J = ½ Σ (T − a)²
    static let loss = 0.5 * pow(0.01 - a2[0], 2) + 0.5 * pow(0.99 - a2[1], 2)   // 0.298371109
    // Output error: δ⁽²⁾ = (a − T) ⊙ a(1 − a)
    static let delta2 = [(a2[0] - 0.01) * a2[0] * (1 - a2[0]),  // 0.138498562
                         (a2[1] - 0.99) * a2[1] * (1 - a2[1])]  // −0.038098236
    // Hidden error: δ⁽¹⁾ = (W⁽²⁾)ᵀ δ⁽²⁾ ⊙ σ′(z⁽¹⁾), σ′ = a(1 − a)
    static let delta1 = [(0.40 * delta2[0] + 0.50 * delta2[1]) * a1[0] * (1 - a1[0]),   // 0.008771355
                         (0.45 * delta2[0] + 0.55 * delta2[1]) * a1[1] * (1 - a1[1])]   // 0.009954254
    // Gradients: ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁾ (a⁽ˡ⁻¹⁾)ᵀ, ∂J/∂b⁽ˡ⁾ = δ⁽ˡ⁾
    static let gradW2 = [delta2[0] * a1[0], delta2[0] * a1[1],  // 0.082167041, 0.082667628
                         delta2[1] * a1[0], delta2[1] * a1[1]]  // −0.022602540, −0.022740242
    static let gradW1 = [delta1[0] * 0.05, delta1[0] * 0.10,    // 0.000438568, 0.000877135
                         delta1[1] * 0.05, delta1[1] * 0.10]    // 0.000497713, 0.000995425
    // Update with η = 0.5: W ← W − η ∂J/∂W
    static let newW2 = zip([0.40, 0.45, 0.50, 0.55], gradW2).map { $0 - 0.5 * $1 }  // 0.358916480, 0.408666186, 0.511301270, 0.561370121
    static let newW1 = zip([0.15, 0.20, 0.25, 0.30], gradW1).map { $0 - 0.5 * $1 }  // 0.149780716, 0.199561432, 0.249751144, 0.299502287

    static func network() -> Sequential<Double> {
        Sequential<Double> {
            Dense(weight: Tensor([[0.15, 0.20], [0.25, 0.30]]), bias: Tensor([0.35, 0.35]))
            ActivationLayer(.sigmoid)
            Dense(weight: Tensor([[0.40, 0.45], [0.50, 0.55]]), bias: Tensor([0.60, 0.60]))
            ActivationLayer(.sigmoid)
        }
    }
    static let x = Tensor<Double>([[0.05, 0.10]])
    static let target = Tensor<Double>([[0.01, 0.99]])

    static func expectClose(_ actual: Tensor<Double>, _ expected: [Double], _ what: String) {
        #expect(actual.count == expected.count, "\(what): \(actual.count) values")
        for (a, e) in zip(actual.scalars, expected) {
            #expect(Swift.abs(a - e) < 1e-9, "\(what): engine \(a), by hand \(e)")
        }
    }

    @Test func handValuesMatchThePublishedExample() {
        // Sanity of the hand computation itself against the rounded values of the classic write-up.
        #expect(Swift.abs(Self.loss - 0.298371109) < 1e-9)
        #expect(Swift.abs(Self.newW2[0] - 0.35891648) < 1e-8)
        #expect(Swift.abs(Self.newW1[0] - 0.149780716) < 1e-9)
    }

    @Test func everyIntermediateMatchesTheHandDerivation() {
        var model = Self.network()
        let leaves = model.parameters.map { $0.requiringGradient() }
        model.parameters = leaves
        var context = ForwardContext.inference
        let outputs = model.outputsOfEveryLayer(Self.x, context: &context)   // z¹, a¹, z², a²
        let loss = HalfSquaredError()(outputs[3], .values(Self.target), reduction: .sum)
        Self.expectClose(outputs[0], Self.z1, "z¹")
        Self.expectClose(outputs[1], Self.a1, "a¹")
        Self.expectClose(outputs[2], Self.z2, "z²")
        Self.expectClose(outputs[3], Self.a2, "a²")
        Self.expectClose(loss, [Self.loss], "J")

        // δ⁽ˡ⁾ = ∂J/∂z⁽ˡ⁾: the gradient with respect to each layer's pre-activation.
        let deltas = loss.gradients(withRespectTo: [outputs[2], outputs[0]])
        Self.expectClose(deltas[0], Self.delta2, "δ²")
        Self.expectClose(deltas[1], Self.delta1, "δ¹")

        let grads = loss.gradients(withRespectTo: leaves)   // W¹, b¹, W², b²
        Self.expectClose(grads[0], Self.gradW1, "∂J/∂W¹")
        Self.expectClose(grads[1], Self.delta1, "∂J/∂b¹")
        Self.expectClose(grads[2], Self.gradW2, "∂J/∂W²")
        Self.expectClose(grads[3], Self.delta2, "∂J/∂b²")
    }

    @Test func oneGradientDescentStepMatchesTheHandUpdate() throws {
        let data = try InMemoryDataset(features: Self.x, values: Self.target)
        let trainer = Trainer(loss: .halfSquaredError, optimizer: SGD(learningRate: 0.5), batchSize: 1, epochs: 1,
                              shuffles: false, seed: 0)
        let trained = try trainer.fit(Self.network(), on: data).model
        Self.expectClose(trained.parameter(named: "0.weight")!, Self.newW1, "W¹ after one step")
        Self.expectClose(trained.parameter(named: "2.weight")!, Self.newW2, "W² after one step")
        Self.expectClose(trained.parameter(named: "2.bias")!, zip([0.6, 0.6], Self.delta2).map { $0 - 0.5 * $1 }, "b² after one step")
    }
}
