/// Eight elements processed together, with arithmetic on a concrete SIMD type.
///
/// Generic code over `SIMD8<S>` compiles to a loop over the lanes even after specialisation, because the standard
/// library's vector instructions are overloads on the concrete types (`SIMD8<Float>`), chosen only where the type is
/// known. Kernels written against this protocol get those instructions through the conformances below (the portable
/// GEMM's micro-kernel ran 3 × faster than on generic `SIMD8<S>`). Not every operation has a vector form:
/// `SIMD8<Float>.squareRoot()` is eight scalar square roots, which is one reason the optimizer updates are in C
/// (`CUpdateKernels`).
protocol Lanes {
    associatedtype Scalar: TensorScalar
    init(repeating value: Scalar)
    /// Loads eight elements from `pointer` (no alignment needed).
    init(loading pointer: UnsafePointer<Scalar>)
    /// Stores the eight elements at `pointer`.
    func store(to pointer: UnsafeMutablePointer<Scalar>)
    subscript(lane: Int) -> Scalar { get set }
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Self, b: Self) -> Self
}

extension Lanes {
    static var laneCount: Int { 8 }
    init() { self.init(repeating: 0) }
}

/// Eight `Float`s.
struct FloatLanes: Lanes {
    var value: SIMD8<Float>
    @inline(__always)
    init(_ value: SIMD8<Float>) { self.value = value }
    @inline(__always)
    init(repeating value: Float) { self.value = SIMD8(repeating: value) }
    @inline(__always)
    init(loading pointer: UnsafePointer<Float>) { value = UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self) }
    @inline(__always)
    func store(to pointer: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self) }
    @inline(__always)
    subscript(lane: Int) -> Float {
        get { value[lane] }
        set { value[lane] = newValue }
    }
    @inline(__always)
    static func + (a: Self, b: Self) -> Self { Self(a.value + b.value) }
    @inline(__always)
    static func - (a: Self, b: Self) -> Self { Self(a.value - b.value) }
    @inline(__always)
    static func * (a: Self, b: Self) -> Self { Self(a.value * b.value) }
}

/// Eight `Double`s.
struct DoubleLanes: Lanes {
    var value: SIMD8<Double>
    @inline(__always)
    init(_ value: SIMD8<Double>) { self.value = value }
    @inline(__always)
    init(repeating value: Double) { self.value = SIMD8(repeating: value) }
    @inline(__always)
    init(loading pointer: UnsafePointer<Double>) { value = UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Double>.self) }
    @inline(__always)
    func store(to pointer: UnsafeMutablePointer<Double>) { UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Double>.self) }
    @inline(__always)
    subscript(lane: Int) -> Double {
        get { value[lane] }
        set { value[lane] = newValue }
    }
    @inline(__always)
    static func + (a: Self, b: Self) -> Self { Self(a.value + b.value) }
    @inline(__always)
    static func - (a: Self, b: Self) -> Self { Self(a.value - b.value) }
    @inline(__always)
    static func * (a: Self, b: Self) -> Self { Self(a.value * b.value) }
}
