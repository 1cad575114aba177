import BackpropCore
import BackpropNN
import BackpropTestSupport
import Testing

@Suite("Optimizers, schedules and clipping")
struct OptimizerTests {
    static func oneStep(_ optimizer: any Optimizer, parameter: Double, gradient: Double, rate: Double, steps: Int = 1) -> Double {
        var p = Tensor<Double>([parameter])
        var state = optimizer.makeState(for: p)
        for _ in 0..<steps {
            optimizer.update(&p, gradient: Tensor([gradient]), state: &state, learningRate: rate)
        }
        #expect(state.step == steps)
        return p.scalar
    }

    @Test func updatesMatchTheirFormulas() {
        // θ = 1, g = 0.5, η = 0.1
        #expect(Self.oneStep(SGD(), parameter: 1, gradient: 0.5, rate: 0.1) == 1 - 0.05)
        // L2: g + λθ = 0.5 + 0.1
        #expect(Swift.abs(Self.oneStep(SGD(weightDecay: 0.1), parameter: 1, gradient: 0.5, rate: 0.1) - (1 - 0.06)) < 1e-15)
        // Momentum, two steps: v₁ = 0.5, θ₁ = 0.95; v₂ = 0.9·0.5 + 0.5 = 0.95, θ₂ = 0.95 − 0.095
        #expect(Swift.abs(Self.oneStep(SGD(momentum: 0.9), parameter: 1, gradient: 0.5, rate: 0.1, steps: 2) - 0.855) < 1e-15)
        // Nesterov, one step: v = 0.5, θ = 1 − 0.1 (0.5 + 0.9·0.5)
        #expect(Swift.abs(Self.oneStep(SGD(momentum: 0.9, nesterov: true), parameter: 1, gradient: 0.5, rate: 0.1) - 0.905) < 1e-15)
        // Adam, first step: m̂ = g, v̂ = g², so θ = 1 − η g/(|g| + ε) ≈ 1 − η
        let adam = Self.oneStep(Adam(), parameter: 1, gradient: 0.5, rate: 0.1)
        #expect(Swift.abs(adam - (1 - 0.1 * 0.5 / (0.5 + 1e-8))) < 1e-12)
        // AdamW decays the weight directly: θ − ηλθ, then the Adam step.
        let adamW = Self.oneStep(Adam.adamW(weightDecay: 0.1), parameter: 1, gradient: 0.5, rate: 0.1)
        #expect(Swift.abs(adamW - (1 - 0.01 - 0.1 * 0.5 / (0.5 + 1e-8))) < 1e-12)
        // Adam with L2: the penalty enters the gradient, and the first step still normalises it away.
        let adamL2 = Self.oneStep(Adam(weightDecay: .l2(0.1)), parameter: 1, gradient: 0.5, rate: 0.1)
        #expect(Swift.abs(adamL2 - (1 - 0.1 * 0.6 / (0.6 + 1e-8))) < 1e-12)
        // RMSProp: s = 0.1·0.25, θ = 1 − 0.1·0.5/√0.025
        let rms = Self.oneStep(RMSProp(), parameter: 1, gradient: 0.5, rate: 0.1)
        #expect(Swift.abs(rms - (1 - 0.05 / (0.025.squareRoot() + 1e-8))) < 1e-12)
        // Adagrad: s = 0.25, θ = 1 − 0.1·0.5/0.5
        #expect(Swift.abs(Self.oneStep(Adagrad(), parameter: 1, gradient: 0.5, rate: 0.1) - 0.9) < 1e-9)
    }

    static let rules: [any Optimizer] = [SGD(), SGD(momentum: 0.9), SGD(momentum: 0.9, nesterov: true), Adam(),
                                         Adam.adamW(), RMSProp(), Adagrad()]

    @Test(arguments: 0..<rules.count)
    func everyRuleMinimisesAQuadratic(_ index: Int) {
        let rule = Self.rules[index]
        // J(θ) = ½‖θ − c‖², minimum at c.
        let c = Tensor<Double>([3, -2])
        var theta = Tensor<Double>([0, 0])
        var state = rule.makeState(for: theta)
        for _ in 0..<500 {
            let tracked = theta.requiringGradient()
            let g = (0.5 * square(tracked - c)).sum().gradients(withRespectTo: [tracked])[0]
            rule.update(&theta, gradient: g, state: &state, learningRate: rule is Adagrad ? 0.5 : 0.05)
        }
        let tolerance = rule.description.contains("AdamW") ? 0.2 : 0.05  // decoupled decay pulls toward 0
        #expect(TestData.maxDifference(theta, c) < tolerance, "\(rule): \(theta.scalars)")
    }

    /// The trainer's form, which writes the updated weights to a second buffer, gives the in-place update's weights
    /// and state bit for bit and leaves the input alone: for every rule, on a parameter small enough for one thread
    /// and one large enough for two, and for a rule that only has the in-place form (the protocol's default).
    @Test(arguments: 0...Self.rules.count, [1001, 70_001])
    func updatingIntoASecondBufferMatchesUpdatingInPlace(_ index: Int, count: Int) {
        let rule = index < Self.rules.count ? Self.rules[index] : HalvingRule()
        var g = SeededGenerator(seed: 5)
        var inPlace = Tensor<Float>.uniform(shape: [count], in: -1...1, using: &g)
        var stateInPlace = rule.makeState(for: inPlace), stateInto = stateInPlace
        var into = Tensor<Float>.zeros(shape: [count])
        for step in 1...3 {
            let gradient = Tensor<Float>.uniform(shape: [count], in: -1...1, using: &g)
            let before = inPlace, beforeScalars = inPlace.scalars
            rule.update(&inPlace, gradient: gradient, state: &stateInPlace, learningRate: 0.01)
            rule.update(before, into: &into, gradient: gradient, state: &stateInto, learningRate: 0.01)
            #expect(TestData.bitDifferences(into.scalars, inPlace.scalars) == 0, "\(rule), step \(step)")
            #expect(zip(stateInto.tensors, stateInPlace.tensors).allSatisfy { TestData.bitDifferences($0.scalars, $1.scalars) == 0 },
                    "\(rule), step \(step)")
            #expect(stateInto.step == stateInPlace.step)
            #expect(TestData.bitDifferences(before.scalars, beforeScalars) == 0, "\(rule) changed its input")
            #expect(TestData.bitDifferences(beforeScalars, inPlace.scalars) > 0, "\(rule) did not change the weights")
        }
    }

    /// A rule outside ``ElementwiseOptimizer``: θ ← θ / 2.
    private struct HalvingRule: Optimizer {
        var learningRate = 1.0
        var schedule = LearningRateSchedule.constant
        var stateNames: [String] { [] }
        func update<Scalar>(_ parameter: inout Tensor<Scalar>, gradient _: Tensor<Scalar>,
                            state: inout ParameterState<Scalar>, learningRate _: Double) {
            parameter = parameter * 0.5
            state.step += 1
        }
        var description: String { "halving" }
    }

    @Test func schedules() {
        #expect(LearningRateSchedule.constant.rate(base: 0.1, epoch: 9) == 0.1)
        #expect(Swift.abs(LearningRateSchedule.step(every: 2, factor: 0.5).rate(base: 0.1, epoch: 5) - 0.025) < 1e-15)
        #expect(Swift.abs(LearningRateSchedule.exponential(decay: 0.9).rate(base: 1, epoch: 3) - 0.81) < 1e-15)
        let cosine = LearningRateSchedule.cosine(epochs: 10, minimum: 0)
        #expect(cosine.rate(base: 1, epoch: 1) == 1)
        #expect(Swift.abs(cosine.rate(base: 1, epoch: 6) - 0.5) < 1e-12)
        #expect(Swift.abs(cosine.rate(base: 1, epoch: 11)) < 1e-12)
        let warm = LearningRateSchedule.warmup(epochs: 4, then: .exponential(decay: 0.5))
        #expect(warm.rate(base: 1, epoch: 1) == 0.25)
        #expect(warm.rate(base: 1, epoch: 4) == 1)
        #expect(warm.rate(base: 1, epoch: 6) == 0.5)
    }

    @Test func clipping() {
        let grads = [Tensor<Double>([3, 0]), Tensor<Double>([0, 4])]  // global norm 5
        let clipped = GradientClipping.globalNorm(1).apply(to: grads)
        #expect(TestData.maxDifference(clipped[0], Tensor([0.6, 0])) < 1e-15)
        #expect(TestData.maxDifference(clipped[1], Tensor([0, 0.8])) < 1e-15)
        #expect(GradientClipping.globalNorm(10).apply(to: grads)[0] == grads[0])
        #expect(GradientClipping.value(2).apply(to: grads)[1].scalars == [0, 2])
    }
}
