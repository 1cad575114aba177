import RealModule

/// An element-wise function of one tensor, applied by the element-wise kernels (`Elementwise.unary(_:_:_:count:)`).
///
/// Besides the activations, the derivative rules use a mask (clamp's), so that each rule is one pass over memory.
public enum UnaryFunction: Sendable, Hashable {
    /// −x.
    case negate
    /// eˣ.
    case exp
    /// ln x.
    case log
    /// √x.
    case sqrt
    /// |x|.
    case abs
    /// x².
    case square
    /// 1/x.
    case reciprocal
    /// −1, 0 or 1.
    case sign
    /// tanh x.
    case tanh
    /// 1/(1 + e⁻ˣ).
    case sigmoid
    /// max(x, 0).
    case relu
    /// ln(1 + eˣ).
    case softplus
    /// x Φ(x).
    case gelu
    /// x for x > 0, else slope · x.
    case leakyReLU(slope: Double)
    /// x for x > 0, else α(eˣ − 1).
    case elu(alpha: Double)
    /// x limited to [lower, upper].
    case clamp(lower: Double, upper: Double)
    /// xᵖ.
    case power(Double)
    /// `1` where `lower < x < upper`, else `0` (derivative of clamp).
    case insideMask(lower: Double, upper: Double)
}

/// An element-wise function of two broadcast tensors. Comparisons return 1 (true) or 0 (false).
public enum BinaryFunction: Sendable, Hashable {
    /// a + b.
    case add
    /// a − b.
    case subtract
    /// a · b.
    case multiply
    /// a / b.
    case divide
    /// max(a, b).
    case maximum
    /// min(a, b).
    case minimum
    /// aᵇ.
    case power
    /// a = b.
    case equal
    /// a ≠ b.
    case notEqual
    /// a < b.
    case less
    /// a ≤ b.
    case lessOrEqual
    /// a > b.
    case greater
    /// a ≥ b.
    case greaterOrEqual
    /// `a` where `b > 0`, else 0 (ReLU's backward pass: g masked by the input's sign).
    case whereRightPositive
    /// `a · b · (1 − b)` (sigmoid's backward pass from its output).
    case sigmoidGradient
    /// `a · (1 − b²)` (tanh's backward pass from its output).
    case tanhGradient
    /// `a · σ(b)` (softplus's backward pass from its input).
    case softplusGradient
    /// `a · (Φ(b) + b·φ(b))` (GELU's backward pass from its input).
    case geluGradient
    /// `a` where `b > 0`, else `slope · a` (leaky ReLU's backward pass from its input).
    case leakyReLUGradient(slope: Double)
    /// `a` where `b > 0`, else `a · alpha · eᵇ` (ELU's backward pass from its input).
    case eluGradient(alpha: Double)
}

/// Element-wise loops over raw buffers. The function is chosen once per call, outside the loop.
enum Elementwise {
    static func unary<S: TensorScalar>(
        _ function: UnaryFunction, _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, count n: Int
    ) {
        switch function {
        case .negate: map(x, y, n) { -$0 }
        case .exp: map(x, y, n) { S.exp($0) }
        case .log: map(x, y, n) { S.log($0) }
        case .sqrt: map(x, y, n) { $0.squareRoot() }
        case .abs: map(x, y, n) { Swift.abs($0) }
        case .square: map(x, y, n) { $0 * $0 }
        case .reciprocal: map(x, y, n) { 1 / $0 }
        case .sign: map(x, y, n) { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
        case .tanh: map(x, y, n) { S.tanh($0) }
        case .sigmoid: map(x, y, n) { sigmoid($0) }
        case .relu: map(x, y, n) { $0 > 0 ? $0 : 0 }
        case .softplus: map(x, y, n) { Swift.max($0, 0) + S.log(onePlus: S.exp(-Swift.abs($0))) }
        case .gelu: map(x, y, n) { $0 * normalCDF($0) }
        case .leakyReLU(let slope):
            let a = S(slope)
            map(x, y, n) { $0 > 0 ? $0 : a * $0 }
        case .elu(let alpha):
            let a = S(alpha)
            map(x, y, n) { $0 > 0 ? $0 : a * S.expMinusOne($0) }
        case .clamp(let lower, let upper):
            let lo = S(lower), hi = S(upper)
            map(x, y, n) { Swift.min(Swift.max($0, lo), hi) }
        case .power(let exponent):
            // Integral exponents are defined for negative bases too; real ones only for positive bases.
            if exponent == 2 {
                map(x, y, n) { $0 * $0 }
            } else if exponent == exponent.rounded(), Swift.abs(exponent) < 1_000_000 {
                let k = Int(exponent)
                map(x, y, n) { S.pow($0, k) }
            } else {
                let p = S(exponent)
                map(x, y, n) { S.pow($0, p) }
            }
        case .insideMask(let lower, let upper):
            let lo = S(lower), hi = S(upper)
            map(x, y, n) { $0 > lo && $0 < hi ? 1 : 0 }
        }
    }

    static func binary<S: TensorScalar>(
        _ function: BinaryFunction, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>,
        layout: BroadcastLayout
    ) {
        binary(function, a, b, y, .broadcast(layout))
    }

    /// The same-shape case: `count` elements of each operand, no broadcasting (and no allocation).
    static func binary<S: TensorScalar>(
        _ function: BinaryFunction, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>,
        count: Int
    ) {
        binary(function, a, b, y, .elementwise(count: count))
    }

    private static func binary<S: TensorScalar>(
        _ function: BinaryFunction, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>,
        _ traversal: Traversal
    ) {
        switch function {
        case .add: zip(a, b, y, traversal) { $0 + $1 }
        case .subtract: zip(a, b, y, traversal) { $0 - $1 }
        case .multiply: zip(a, b, y, traversal) { $0 * $1 }
        case .divide: zip(a, b, y, traversal) { $0 / $1 }
        case .maximum: zip(a, b, y, traversal) { Swift.max($0, $1) }
        case .minimum: zip(a, b, y, traversal) { Swift.min($0, $1) }
        case .power: zip(a, b, y, traversal) { S.pow($0, $1) }
        case .equal: zip(a, b, y, traversal) { $0 == $1 ? 1 : 0 }
        case .notEqual: zip(a, b, y, traversal) { $0 != $1 ? 1 : 0 }
        case .less: zip(a, b, y, traversal) { $0 < $1 ? 1 : 0 }
        case .lessOrEqual: zip(a, b, y, traversal) { $0 <= $1 ? 1 : 0 }
        case .greater: zip(a, b, y, traversal) { $0 > $1 ? 1 : 0 }
        case .greaterOrEqual: zip(a, b, y, traversal) { $0 >= $1 ? 1 : 0 }
        case .whereRightPositive: zip(a, b, y, traversal) { $1 > 0 ? $0 : 0 }
        case .sigmoidGradient: zip(a, b, y, traversal) { $0 * $1 * (1 - $1) }
        case .tanhGradient: zip(a, b, y, traversal) { $0 * (1 - $1 * $1) }
        case .softplusGradient: zip(a, b, y, traversal) { $0 * sigmoid($1) }
        case .geluGradient:
            let invSqrt2Pi = 1 / (2 * S.pi).squareRoot()
            zip(a, b, y, traversal) { $0 * (normalCDF($1) + $1 * invSqrt2Pi * S.exp(-$1 * $1 / 2)) }
        case .leakyReLUGradient(let slope):
            let s = S(slope)
            zip(a, b, y, traversal) { $1 > 0 ? $0 : s * $0 }
        case .eluGradient(let alpha):
            let c = S(alpha)
            zip(a, b, y, traversal) { $1 > 0 ? $0 : $0 * c * S.exp($1) }
        }
    }

    /// Adds `bias` to each of the `rows` rows of `z` (each `columns` wide) and writes `function(z)` to `output`,
    /// row by row while the row is in cache. With no function, only the bias is added.
    static func biasAndActivation<S: TensorScalar>(
        _ z: UnsafeMutablePointer<S>, bias: UnsafePointer<S>, rows: Int, columns: Int, activation: UnaryFunction?,
        output: UnsafeMutablePointer<S>
    ) {
        for r in 0..<rows {
            let row = z + r * columns
            for j in 0..<columns { row[j] += bias[j] }
            if let activation { unary(activation, row, output + r * columns, count: columns) }
        }
    }

    /// The logistic function, written so that neither branch overflows.
    @inline(__always)
    static func sigmoid<S: TensorScalar>(_ x: S) -> S {
        if x >= 0 {
            return 1 / (1 + S.exp(-x))
        }
        let e = S.exp(x)
        return e / (1 + e)
    }

    /// Φ(x), the standard normal cumulative distribution function.
    @inline(__always)
    static func normalCDF<S: TensorScalar>(_ x: S) -> S {
        (1 + S.erf(x / S(2).squareRoot())) / 2
    }

    @inline(__always)
    private static func map<S>(_ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int, _ f: (S) -> S) {
        for i in 0..<n {
            y[i] = f(x[i])
        }
    }

    /// How a binary function walks its operands.
    private enum Traversal {
        /// Equal shapes: element i of each.
        case elementwise(count: Int)
        /// NumPy broadcasting.
        case broadcast(BroadcastLayout)
    }

    /// Walks the iteration space: one flat loop for equal shapes, else an odometer over the outer dimensions and a
    /// strided loop over the last.
    @inline(__always)
    private static func zip<S>(
        _ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ traversal: Traversal,
        _ f: (S, S) -> S
    ) {
        let layout: BroadcastLayout
        switch traversal {
        case .elementwise(let count):
            for i in 0..<count { y[i] = f(a[i], b[i]) }
            return
        case .broadcast(let broadcast):
            layout = broadcast
        }
        let shape = layout.shape
        let total = Shape.elementCount(shape)
        guard total > 0 else { return }
        let rank = shape.count
        if rank == 0 {
            y[0] = f(a[0], b[0])
            return
        }
        let inner = shape[rank - 1]
        let sa = layout.lhsStrides[rank - 1], sb = layout.rhsStrides[rank - 1]
        // Fast paths for the common cases: same shape, or one side a single value.
        if layout.lhsStrides == Shape.strides(shape) && layout.rhsStrides == layout.lhsStrides {
            for i in 0..<total { y[i] = f(a[i], b[i]) }
            return
        }
        if layout.rhsStrides.allSatisfy({ $0 == 0 }) && layout.lhsStrides == Shape.strides(shape) {
            let c = b[0]
            for i in 0..<total { y[i] = f(a[i], c) }
            return
        }
        var index = [Int](repeating: 0, count: rank)
        var offsetA = 0, offsetB = 0, out = 0
        while out < total {
            if sa == 1 && sb == 1 {
                for j in 0..<inner { y[out + j] = f(a[offsetA + j], b[offsetB + j]) }
            } else if sa == 1 && sb == 0 {
                let c = b[offsetB]
                for j in 0..<inner { y[out + j] = f(a[offsetA + j], c) }
            } else if sa == 0 && sb == 1 {
                let c = a[offsetA]
                for j in 0..<inner { y[out + j] = f(c, b[offsetB + j]) }
            } else {
                for j in 0..<inner { y[out + j] = f(a[offsetA + j * sa], b[offsetB + j * sb]) }
            }
            out += inner
            // Advance the odometer over dimensions 0..<rank-1.
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                offsetA += layout.lhsStrides[axis]
                offsetB += layout.rhsStrides[axis]
                if index[axis] < shape[axis] { break }
                offsetA -= layout.lhsStrides[axis] * shape[axis]
                offsetB -= layout.rhsStrides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
