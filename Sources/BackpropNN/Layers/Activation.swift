import BackpropCore

/// An element-wise nonlinearity σ, applied as a layer: `a = σ(z)`.
///
/// ```
/// sigmoid      1 / (1 + e⁻ᶻ)                 σ′ = σ(1 − σ)
/// tanh         tanh z                        σ′ = 1 − tanh² z
/// relu         max(z, 0)                     σ′ = 1 if z > 0 else 0
/// leakyReLU    z if z > 0 else slope·z       σ′ = 1 or slope
/// elu          z if z > 0 else α(eᶻ − 1)     σ′ = 1 or α eᶻ
/// gelu         z Φ(z)                        σ′ = Φ(z) + z φ(z)
/// softplus     log(1 + eᶻ)                   σ′ = sigmoid(z)
/// softmax      eᶻⁱ / Σ eᶻʲ per row           (a full Jacobian; fused with cross-entropy in training)
/// identity     z                             σ′ = 1
/// ```
public enum Activation: Sendable, Hashable, CustomStringConvertible {
    /// 1 / (1 + e⁻ᶻ).
    case sigmoid
    /// tanh z.
    case tanh
    /// max(z, 0).
    case relu
    /// z Φ(z), Φ the standard normal distribution function.
    case gelu
    /// log(1 + eᶻ).
    case softplus
    /// eᶻⁱ / Σ eᶻʲ per row (an output layer).
    case softmax
    /// z (no activation).
    case identity
    /// z if z > 0 else slope · z.
    case leakyReLU(slope: Double)
    /// z if z > 0 else α(eᶻ − 1).
    case elu(alpha: Double)

    /// Parses a command-line name: `sigmoid`, `tanh`, `relu`, `leaky-relu`, `elu`, `gelu`, `softplus`, `softmax`,
    /// `identity` (also `linear`).
    public init?(name: String) {
        switch name.lowercased() {
        case "sigmoid": self = .sigmoid
        case "tanh": self = .tanh
        case "relu": self = .relu
        case "leaky-relu", "leakyrelu": self = .leakyReLU(slope: 0.01)
        case "elu": self = .elu(alpha: 1)
        case "gelu": self = .gelu
        case "softplus": self = .softplus
        case "softmax": self = .softmax
        case "identity", "linear": self = .identity
        default: return nil
        }
    }

    /// The command-line name (see ``init(name:)``).
    public var name: String {
        switch self {
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .relu: "relu"
        case .gelu: "gelu"
        case .softplus: "softplus"
        case .softmax: "softmax"
        case .identity: "identity"
        case .leakyReLU: "leaky-relu"
        case .elu: "elu"
        }
    }

    /// The function's parameter: the slope of leaky ReLU, the α of ELU; `nil` for the others.
    public var parameter: Double? {
        switch self {
        case .leakyReLU(let slope): slope
        case .elu(let alpha): alpha
        default: nil
        }
    }

    /// Rebuilds an activation from ``name`` and ``parameter``.
    public init?(name: String, parameter: Double?) {
        guard let base = Activation(name: name) else { return nil }
        switch (base, parameter) {
        case (.leakyReLU, let slope?): self = .leakyReLU(slope: slope)
        case (.elu, let alpha?): self = .elu(alpha: alpha)
        default: self = base
        }
    }

    /// The element-wise kernel that applies this activation (and whose `gradientRule` is its
    /// derivative); `nil` for `identity` and for `softmax`, which is not element-wise.
    public var elementwiseFunction: UnaryFunction? {
        switch self {
        case .sigmoid: .sigmoid
        case .tanh: .tanh
        case .relu: .relu
        case .gelu: .gelu
        case .softplus: .softplus
        case .leakyReLU(let slope): .leakyReLU(slope: slope)
        case .elu(let alpha): .elu(alpha: alpha)
        case .softmax, .identity: nil
        }
    }

    /// Applies the function (recording it when the input is tracked).
    public func apply<Scalar: TensorScalar>(_ z: Tensor<Scalar>) -> Tensor<Scalar> {
        switch self {
        case .sigmoid: BackpropCore.sigmoid(z)
        case .tanh: BackpropCore.tanh(z)
        case .relu: BackpropCore.relu(z)
        case .gelu: BackpropCore.gelu(z)
        case .softplus: BackpropCore.softplus(z)
        case .softmax: z.softmax(alongAxis: -1)
        case .identity: z
        case .leakyReLU(let slope): BackpropCore.leakyReLU(z, slope: Scalar(slope))
        case .elu(let alpha): BackpropCore.elu(z, alpha: Scalar(alpha))
        }
    }

    public var description: String {
        parameter.map { "\(name)(\($0))" } ?? name
    }
}

/// A layer that applies an ``Activation`` element-wise; it has no parameters.
public struct ActivationLayer<Scalar: TensorScalar>: Layer {
    /// The function applied.
    public var activation: Activation

    /// Creates the layer.
    public init(_ activation: Activation) {
        self.activation = activation
    }

    public func callAsFunction(_ input: Tensor<Scalar>, context: inout ForwardContext) -> Tensor<Scalar> {
        activation.apply(input)
    }

    public var parameterNames: [String] { [] }
    public var parameters: [Tensor<Scalar>] {
        get { [] }
        set { precondition(newValue.isEmpty, "\(activation) has no parameters") }
    }

    public var specification: (any LayerSpecification)? {
        ActivationSpecification(function: activation.name, parameter: activation.parameter)
    }

    public var description: String { "Activation(\(activation))" }
}

/// An ``ActivationLayer`` in a model file: `{"type": "activation", "function": "leaky-relu", "parameter": 0.01}`.
public struct ActivationSpecification: LayerSpecification, Equatable {
    public static var kind: String { "activation" }
    /// The activation's command-line name (``Activation/name``).
    public var function: String
    /// Its parameter (leaky-ReLU slope, ELU α), if it has one.
    public var parameter: Double?

    /// Describes an activation layer.
    public init(function: String, parameter: Double? = nil) {
        self.function = function
        self.parameter = parameter
    }

    public func plan(forInput shape: [Int]) throws(LayerShapeError) -> LayerPlan {
        guard let activation = Activation(name: function, parameter: parameter), parameter?.isFinite ?? true else {
            throw LayerShapeError("unknown activation '\(function)'")
        }
        if activation == .softmax && shape.count != 1 {
            throw LayerShapeError("softmax takes samples of one axis, not \(shape) (add a flatten layer before it)")
        }
        return LayerPlan(outputShape: shape)
    }

    public func makeLayer<Scalar: TensorScalar>(parameters: [Tensor<Scalar>], state: [Tensor<Scalar>]) -> any Layer<Scalar> {
        ActivationLayer(Activation(name: function, parameter: parameter)!)
    }
}
