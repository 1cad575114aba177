import BackpropCore

/// How a weight tensor's initial values are drawn. Every initializer takes an explicit seeded generator.
///
/// With `fanIn` and `fanOut` the number of inputs and outputs of a unit:
/// ```
/// glorotUniform   U(−√(6/(fanIn+fanOut)), +√(6/(fanIn+fanOut)))      Glorot & Bengio, for sigmoid and tanh
/// glorotNormal    N(0, 2/(fanIn+fanOut))
/// heUniform       U(−√(6/fanIn), +√(6/fanIn))                        He et al., for the ReLU family
/// heNormal        N(0, 2/fanIn)
/// lecunUniform    U(−√(3/fanIn), +√(3/fanIn))
/// lecunNormal     N(0, 1/fanIn)
/// ```
public enum Initializer: Sendable, Hashable {
    /// U(−√(6/(fanIn+fanOut)), +√(6/(fanIn+fanOut))), for sigmoid and tanh.
    case glorotUniform
    /// N(0, 2/(fanIn+fanOut)).
    case glorotNormal
    /// U(−√(6/fanIn), +√(6/fanIn)), for the ReLU family.
    case heUniform
    /// N(0, 2/fanIn).
    case heNormal
    /// U(−√(3/fanIn), +√(3/fanIn)).
    case lecunUniform
    /// N(0, 1/fanIn).
    case lecunNormal
    /// All zero (biases).
    case zeros
    /// Every element the given value.
    case constant(Double)

    /// The usual choice for weights feeding `activation`: He for the ReLU family, Glorot otherwise.
    public static func standard(for activation: Activation) -> Initializer {
        switch activation {
        case .relu, .leakyReLU, .elu, .gelu: .heUniform
        default: .glorotUniform
        }
    }

    /// Draws a tensor of `shape` for a unit with the given fan-in and fan-out.
    public func make<Scalar: TensorScalar>(
        shape: [Int], fanIn: Int, fanOut: Int, generator: inout SeededGenerator
    ) -> Tensor<Scalar> {
        let fanIn = Double(Swift.max(fanIn, 1)), fanOut = Double(Swift.max(fanOut, 1))
        func uniform(_ limit: Double) -> Tensor<Scalar> {
            Tensor.uniform(shape: shape, in: Scalar(-limit)...Scalar(limit), using: &generator)
        }
        func normal(_ variance: Double) -> Tensor<Scalar> {
            Tensor.normal(shape: shape, standardDeviation: Scalar(variance.squareRoot()), using: &generator)
        }
        switch self {
        case .glorotUniform: return uniform((6 / (fanIn + fanOut)).squareRoot())
        case .glorotNormal: return normal(2 / (fanIn + fanOut))
        case .heUniform: return uniform((6 / fanIn).squareRoot())
        case .heNormal: return normal(2 / fanIn)
        case .lecunUniform: return uniform((3 / fanIn).squareRoot())
        case .lecunNormal: return normal(1 / fanIn)
        case .zeros: return Tensor(shape: shape, repeating: 0)
        case .constant(let value): return Tensor(shape: shape, repeating: Scalar(value))
        }
    }
}
