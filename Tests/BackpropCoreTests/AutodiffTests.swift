import BackpropCore
import BackpropTestSupport
import Testing

@Suite("Reverse-mode autodiff")
struct AutodiffTests {
    @Test func untrackedOperationsRecordNothing() {
        let a = Tensor<Double>([1, 2])
        #expect(!(exp(a) * a).isTracked)
        let w = a.requiringGradient()
        #expect((exp(w) * a).isTracked)
        #expect(!(exp(w) * a).detached.isTracked)
    }

    @Test func chainRuleByHand() {
        // J = sigmoid(w·x + b) with w = 0.5, x = 2, b = -0.5: z = 0.5, a = σ(0.5), dJ/dw = σ′(z)·x, dJ/db = σ′(z).
        let w = Tensor<Double>([0.5]).requiringGradient()
        let b = Tensor<Double>([-0.5]).requiringGradient()
        let x = Tensor<Double>([2])
        let z = w * x + b
        let loss = sigmoid(z).sum()
        let grads = loss.gradients(withRespectTo: [w, b, z])
        let s = 1 / (1 + Foundation_exp(-0.5))
        #expect(Swift.abs(grads[0].scalar - s * (1 - s) * 2) < 1e-15)
        #expect(Swift.abs(grads[1].scalar - s * (1 - s)) < 1e-15)
        // The gradient with respect to an intermediate value is its error term δ = ∂J/∂z.
        #expect(Swift.abs(grads[2].scalar - s * (1 - s)) < 1e-15)
    }

    @Test func fanOutAccumulates() {
        let x = Tensor<Double>([3]).requiringGradient()
        let y = x * x * x  // 3x² = 27
        #expect(y.sum().gradients(withRespectTo: [x])[0].scalar == 27)
    }

    @Test func broadcastGradientIsSummedToTheInputShape() {
        let bias = Tensor<Double>([1, 2, 3]).requiringGradient()
        let m = Tensor<Double>.ones(shape: [4, 3])
        let g = (m + bias).sum().gradients(withRespectTo: [bias])[0]
        #expect(g.shape == [3])
        #expect(g.scalars == [4, 4, 4])
    }

    @Test func unrelatedTargetGetsZeros() {
        let x = Tensor<Double>([1, 2]).requiringGradient()
        let unrelated = Tensor<Double>([5]).requiringGradient()
        let g = (x * 2).sum().gradients(withRespectTo: [x, unrelated])
        #expect(g[0].scalars == [2, 2])
        #expect(g[1].scalars == [0])
    }

    @Test func graphIsReleasedWithTheLoss() {
        weak var weakNode: Node<Double>?
        do {
            let x = Tensor<Double>([1, 2]).requiringGradient()
            let loss = exp(x).sum()
            weakNode = loss.graphNode
            #expect(weakNode != nil)
            _ = loss.gradients(withRespectTo: [x])
        }
        #expect(weakNode == nil)
    }

    @Test func topologicalOrderPutsInputsFirst() {
        let x = Tensor<Double>([1]).requiringGradient()
        let y = exp(x)
        let loss = (y * y).sum()
        let order = Tensor.topologicalOrder(from: loss.graphNode!).map(\.op.name)
        #expect(order == ["leaf", "exp", "multiply", "sum"])
    }

    @Test func vectorJacobianProductWithSeed() {
        let x = Tensor<Double>([1, 2, 3]).requiringGradient()
        let y = x * x
        let g = y.gradients(withRespectTo: [x], seed: Tensor([1, 0, 2]))
        #expect(g[0].scalars == [2, 0, 12])
    }

    /// A chain of 100 000 operations (what a network of 33 000 layers records) is differentiated and released
    /// without recursion deep enough to overflow a thread's stack.
    @Test func veryLongGraphsAreReleasedWithoutDeepRecursion() {
        let x = Tensor<Double>([1]).requiringGradient()
        var y = x
        for _ in 0..<100_000 { y = y * 1.000001 }
        let gradient = y.sum().gradients(withRespectTo: [x])[0].scalar
        #expect(Swift.abs(gradient - Foundation_pow(1.000001, 100_000)) < 1e-9 * gradient)
        y = x  // the chain's last reference goes here
        #expect(y.scalars == [1])
    }
}
