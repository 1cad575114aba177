// Element-wise functions and activations. Derivative rules: Autodiff/Derivatives.swift.
extension Tensor {
    func unary(_ op: Op, _ function: UnaryFunction) -> Tensor {
        Tensor.recorded(op, inputs: [self], value: applying(function))
    }
}

/// eˣ, element-wise.
public func exp<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { x.unary(.exp, .exp) }
/// The natural logarithm, element-wise.
public func log<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { x.unary(.log, .log) }
/// The square root, element-wise.
public func sqrt<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { x.unary(.sqrt, .sqrt) }
/// The absolute value, element-wise.
public func abs<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { x.unary(.abs, .abs) }
/// x², element-wise.
public func square<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { x.unary(.square, .square) }
/// 1 / x, element-wise.
public func reciprocal<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { x.unary(.reciprocal, .reciprocal) }
/// xᵖ for a constant exponent, element-wise.
public func pow<Scalar>(_ x: Tensor<Scalar>, _ exponent: Scalar) -> Tensor<Scalar> {
    x.unary(.power(exponent: Double(exponent)), .power(Double(exponent)))
}
/// The hyperbolic tangent, element-wise.
public func tanh<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { x.unary(.tanh, .tanh) }

/// The logistic sigmoid σ(x) = 1 / (1 + e⁻ˣ), element-wise, computed without overflow for any x.
///
/// ```
/// σ′(x) = σ(x) (1 − σ(x))
/// ```
public func sigmoid<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { x.unary(.sigmoid, .sigmoid) }

/// The rectified linear unit max(x, 0), element-wise; its derivative is 1 where x > 0 and 0 elsewhere.
public func relu<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { x.unary(.relu, .relu) }

/// Leaky ReLU: x where x > 0, `slope · x` elsewhere.
public func leakyReLU<Scalar>(_ x: Tensor<Scalar>, slope: Scalar = 0.01) -> Tensor<Scalar> {
    x.unary(.leakyReLU(slope: Double(slope)), .leakyReLU(slope: Double(slope)))
}

/// The exponential linear unit: x where x > 0, `alpha · (eˣ − 1)` elsewhere.
public func elu<Scalar>(_ x: Tensor<Scalar>, alpha: Scalar = 1) -> Tensor<Scalar> {
    x.unary(.elu(alpha: Double(alpha)), .elu(alpha: Double(alpha)))
}

/// softplus(x) = log(1 + eˣ), computed stably as max(x, 0) + log(1 + e^−|x|); its derivative is σ(x).
public func softplus<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { x.unary(.softplus, .softplus) }

/// The Gaussian error linear unit x · Φ(x) (exact form, with the error function).
public func gelu<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> { x.unary(.gelu, .gelu) }

/// Limits every element to `lower...upper`; the gradient is zero where the value was clamped.
public func clamp<Scalar>(_ x: Tensor<Scalar>, lower: Scalar, upper: Scalar) -> Tensor<Scalar> {
    precondition(lower <= upper, "clamp: lower bound \(lower) exceeds upper bound \(upper)")
    return x.unary(.clamp(lower: Double(lower), upper: Double(upper)),
                   .clamp(lower: Double(lower), upper: Double(upper)))
}
