// Element-wise arithmetic with NumPy broadcasting. Derivative rules: Autodiff/Derivatives.swift.
extension Tensor {
    private static func binary(_ op: Op, _ function: BinaryFunction, _ lhs: Tensor, _ rhs: Tensor) -> Tensor {
        recorded(op, inputs: [lhs, rhs], value: combining(function, lhs, rhs, op: op.name))
    }

    /// Element-wise sum, broadcasting as NumPy does.
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { binary(.add, .add, lhs, rhs) }
    /// Element-wise difference, broadcasting as NumPy does.
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { binary(.subtract, .subtract, lhs, rhs) }
    /// Element-wise (Hadamard) product ⊙, broadcasting as NumPy does.
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { binary(.multiply, .multiply, lhs, rhs) }
    /// Element-wise quotient, broadcasting as NumPy does.
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { binary(.divide, .divide, lhs, rhs) }

    /// Adds a scalar to every element.
    public static func + (lhs: Tensor, rhs: Scalar) -> Tensor { lhs + Tensor(rhs) }
    /// Adds a scalar to every element.
    public static func + (lhs: Scalar, rhs: Tensor) -> Tensor { Tensor(lhs) + rhs }
    /// Subtracts a scalar from every element.
    public static func - (lhs: Tensor, rhs: Scalar) -> Tensor { lhs - Tensor(rhs) }
    /// Subtracts every element from a scalar.
    public static func - (lhs: Scalar, rhs: Tensor) -> Tensor { Tensor(lhs) - rhs }
    /// Multiplies every element by a scalar.
    public static func * (lhs: Tensor, rhs: Scalar) -> Tensor { lhs * Tensor(rhs) }
    /// Multiplies every element by a scalar.
    public static func * (lhs: Scalar, rhs: Tensor) -> Tensor { Tensor(lhs) * rhs }
    /// Divides every element by a scalar.
    public static func / (lhs: Tensor, rhs: Scalar) -> Tensor { lhs / Tensor(rhs) }
    /// Divides a scalar by every element.
    public static func / (lhs: Scalar, rhs: Tensor) -> Tensor { Tensor(lhs) / rhs }

    /// Element-wise negation.
    public static prefix func - (operand: Tensor) -> Tensor {
        recorded(.negate, inputs: [operand], value: operand.applying(.negate))
    }

    /// Adds in place (the result is a new graph node when either side is tracked).
    public static func += (lhs: inout Tensor, rhs: Tensor) { lhs = lhs + rhs }
    /// Subtracts in place.
    public static func -= (lhs: inout Tensor, rhs: Tensor) { lhs = lhs - rhs }
    /// Multiplies in place.
    public static func *= (lhs: inout Tensor, rhs: Tensor) { lhs = lhs * rhs }
    /// Divides in place.
    public static func /= (lhs: inout Tensor, rhs: Tensor) { lhs = lhs / rhs }
}

/// `a` where `mask` is nonzero, `b` elsewhere; all three broadcast together. Differentiable in `a` and `b`.
public func select<Scalar>(_ mask: Tensor<Scalar>, _ a: Tensor<Scalar>, _ b: Tensor<Scalar>) -> Tensor<Scalar> {
    guard let shape = Shape.broadcast(mask.shape, a.shape).flatMap({ Shape.broadcast($0, b.shape) }) else {
        preconditionFailure("select: shapes \(mask.shape), \(a.shape) and \(b.shape) cannot be broadcast together")
    }
    let m = (mask.detached .!= Tensor(0)).broadcastValues(to: shape)
    let value = Tensor.combining(.add, Tensor.combining(.multiply, m, a, into: shape),
                                 Tensor.combining(.multiply, 1 - m, b, into: shape), into: shape)
    return Tensor.recorded(.select, inputs: [a, b], value: value, saved: [m])
}
