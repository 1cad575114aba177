// Comparisons return untracked masks of 1 (true) and 0 (false), broadcasting as NumPy does.
infix operator .==: ComparisonPrecedence
infix operator .!=: ComparisonPrecedence
infix operator .<: ComparisonPrecedence
infix operator .<=: ComparisonPrecedence
infix operator .>: ComparisonPrecedence
infix operator .>=: ComparisonPrecedence

extension Tensor {
    /// 1 where the elements are equal, else 0.
    public static func .== (lhs: Tensor, rhs: Tensor) -> Tensor { combining(.equal, lhs, rhs, op: ".==") }
    /// 1 where the elements differ, else 0.
    public static func .!= (lhs: Tensor, rhs: Tensor) -> Tensor { combining(.notEqual, lhs, rhs, op: ".!=") }
    /// 1 where `lhs < rhs`, else 0.
    public static func .< (lhs: Tensor, rhs: Tensor) -> Tensor { combining(.less, lhs, rhs, op: ".<") }
    /// 1 where `lhs <= rhs`, else 0.
    public static func .<= (lhs: Tensor, rhs: Tensor) -> Tensor { combining(.lessOrEqual, lhs, rhs, op: ".<=") }
    /// 1 where `lhs > rhs`, else 0.
    public static func .> (lhs: Tensor, rhs: Tensor) -> Tensor { combining(.greater, lhs, rhs, op: ".>") }
    /// 1 where `lhs >= rhs`, else 0.
    public static func .>= (lhs: Tensor, rhs: Tensor) -> Tensor { combining(.greaterOrEqual, lhs, rhs, op: ".>=") }

    /// 1 where the element equals `rhs`, else 0.
    public static func .== (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .== Tensor(rhs) }
    /// 1 where the element is less than `rhs`, else 0.
    public static func .< (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .< Tensor(rhs) }
    /// 1 where the element is greater than `rhs`, else 0.
    public static func .> (lhs: Tensor, rhs: Scalar) -> Tensor { lhs .> Tensor(rhs) }

    /// Element-wise maximum of two tensors (untracked).
    public static func maximum(_ lhs: Tensor, _ rhs: Tensor) -> Tensor { combining(.maximum, lhs, rhs, op: "maximum") }
    /// Element-wise minimum of two tensors (untracked).
    public static func minimum(_ lhs: Tensor, _ rhs: Tensor) -> Tensor { combining(.minimum, lhs, rhs, op: "minimum") }

    /// Whether every element is finite (neither infinite nor NaN).
    public var isFinite: Bool {
        (0..<count).allSatisfy { storage.pointer[$0].isFinite }
    }
}
