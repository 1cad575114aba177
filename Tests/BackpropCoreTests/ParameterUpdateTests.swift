import BackpropCore
import BackpropTestSupport
import Testing

/// The vectorised update rules against the same formulas written one scalar at a time: the eight-lane kernels, their
/// vector square root and the zero-padded tail must give the scalar result bit for bit.
@Suite("Parameter updates")
struct ParameterUpdateTests {
    static let count = 1003  // not a multiple of eight: the last three elements go through the padded tail

    @Test(arguments: [1, 10_000])
    func adamMatchesItsScalarFormula(step: Int) {
        check(Float.self, step: step)
        check(Double.self, step: step)
    }

    @Test func rmsPropMatchesItsScalarFormula() {
        checkRMSProp(Float.self)
        checkRMSProp(Double.self)
    }

    private func check<S: TensorScalar>(_: S.Type, step: Int) {
        let (rate, beta1, beta2, epsilon, l2, decay) = (1e-3, 0.9, 0.999, 1e-8, 1e-4, 1e-2)
        var (theta, gradient, m, v) = Self.operands(S.self)
        var state = [Tensor(m), Tensor(v)]
        var parameter = Tensor(theta)
        parameter.apply(.adam(learningRate: rate, beta1: beta1, beta2: beta2, epsilon: epsilon, step: step, l2: l2,
                              decoupledDecay: decay),
                        gradient: Tensor(gradient), state: &state)

        let stepSize = S(rate / (1 - Double.pow(beta1, Double(step))))
        let inverseCorrection2 = S(1 / (1 - Double.pow(beta2, Double(step))))
        let (b1, b2, eps, lambda2, shrink) = (S(beta1), S(beta2), S(epsilon), S(l2), S(rate * decay))
        for i in theta.indices {
            let g = gradient[i] + lambda2 * theta[i]
            m[i] = Self.flushed(b1 * m[i] + (1 - b1) * g)
            v[i] = Self.flushed(b2 * v[i] + (1 - b2) * g * g)
            theta[i] = theta[i] - shrink * theta[i] - stepSize * m[i] / ((v[i] * inverseCorrection2).squareRoot() + eps)
        }
        #expect(parameter.scalars == theta, "θ, \(S.self)")
        #expect(state[0].scalars == m, "m, \(S.self)")
        #expect(state[1].scalars == v, "v, \(S.self)")
    }

    private func checkRMSProp<S: TensorScalar>(_: S.Type) {
        let (rate, rho, epsilon, decay) = (1e-2, 0.9, 1e-8, 1e-3)
        var (theta, gradient, _, s) = Self.operands(S.self)
        var state = [Tensor(s)]
        var parameter = Tensor(theta)
        parameter.apply(.rmsProp(learningRate: rate, rho: rho, epsilon: epsilon, weightDecay: decay),
                        gradient: Tensor(gradient), state: &state)

        let (eta, r, eps, lambda) = (S(rate), S(rho), S(epsilon), S(decay))
        for i in theta.indices {
            let g = gradient[i] + lambda * theta[i]
            s[i] = Self.flushed(r * s[i] + (1 - r) * g * g)
            theta[i] = theta[i] - eta * g / (s[i].squareRoot() + eps)
        }
        #expect(parameter.scalars == theta, "θ, \(S.self)")
        #expect(state[0].scalars == s, "s, \(S.self)")
    }

    /// Parameters and gradients over several orders of magnitude (zeros and subnormal-producing values included), a
    /// first moment of either sign and a non-negative second moment.
    private static func operands<S: TensorScalar>(_: S.Type) -> (theta: [S], gradient: [S], m: [S], v: [S]) {
        var generator = SeededGenerator(seed: 21)
        func values(_ range: ClosedRange<Double>) -> [S] {
            Tensor<Double>.uniform(shape: [count], in: range, using: &generator).scalars.enumerated().map { i, x in
                S(x * Double.pow(10, Double(i % 13 - 8)))
            }
        }
        var gradient = values(-1...1)
        for i in stride(from: 0, to: count, by: 97) { gradient[i] = 0 }
        return (values(-1...1), gradient, values(-1...1), values(0...1))
    }

    private static func flushed<S: TensorScalar>(_ x: S) -> S {
        x.magnitude < S.leastNormalMagnitude ? 0 : x
    }
}
