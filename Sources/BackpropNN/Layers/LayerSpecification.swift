import BackpropCore

/// A layer kind's description as model files store it: everything about a layer except its tensors.
///
/// Each layer kind defines its specification next to the layer (``DenseSpecification``, ``Conv2DSpecification``, …)
/// and registers it once in ``LayerKinds/all``. The specification alone says what the layer does to a sample's
/// shape and which tensors it holds, so a model file is validated before any weight is read, and a model is rebuilt
/// from the file without a `switch` over layer kinds. See "Adding a layer" in the README.
public protocol LayerSpecification: Codable, Sendable {
    /// The kind's name, stored as the layer's `"type"` in model files (`"dense"`, `"conv2d"`).
    static var kind: String { get }

    /// Checks the description against the shape of one input sample, and returns the shape of one output sample
    /// and the names and shapes of the layer's tensors. Allocates nothing, and never overflows: any size outside
    /// ``LayerPlan/maximumDimension`` is an error.
    ///
    /// - Throws: ``LayerShapeError`` saying what the layer expected.
    func plan(forInput shape: [Int]) throws(LayerShapeError) -> LayerPlan

    /// The layer, from tensors of ``plan(forInput:)``'s shapes, in its order.
    func makeLayer<Scalar: TensorScalar>(parameters: [Tensor<Scalar>], state: [Tensor<Scalar>]) -> any Layer<Scalar>

    /// The input shape this kind requires whatever precedes it (a dense layer's `[inputs]`), or `nil`.
    var fixedInputShape: [Int]? { get }
}

extension LayerSpecification {
    public var fixedInputShape: [Int]? { nil }
}

/// What a layer does to one sample, and the tensors it holds: the result of ``LayerSpecification/plan(forInput:)``.
public struct LayerPlan: Sendable, Equatable {
    /// The shape of one output sample.
    public var outputShape: [Int]
    /// The trainable parameters, in the layer's order.
    public var parameters: [TensorSlot]
    /// The non-trainable state (batch normalisation's running statistics), in the layer's order.
    public var state: [TensorSlot]

    /// Describes a layer's effect.
    public init(outputShape: [Int], parameters: [TensorSlot] = [], state: [TensorSlot] = []) {
        self.outputShape = outputShape
        self.parameters = parameters
        self.state = state
    }

    /// The largest size a specification accepts for any one dimension or count (2²⁴): large enough for any real
    /// layer, small enough that products of a few of them cannot overflow.
    public static let maximumDimension = 1 << 24

    /// The number of elements of `shape`, or an error when a dimension is outside `1...maximumDimension` or the
    /// product exceeds it squared.
    public static func elementCount(_ shape: [Int], of what: String) throws(LayerShapeError) -> Int {
        var count = 1
        for size in shape {
            guard (1...maximumDimension).contains(size) else {
                throw LayerShapeError("\(what) has a size of \(size); sizes run from 1 to \(maximumDimension)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, product <= maximumDimension * maximumDimension else {
                throw LayerShapeError("\(what) \(shape) is too large")
            }
            count = product
        }
        return count
    }
}

/// A tensor a layer holds: its name within the layer and its shape.
public struct TensorSlot: Sendable, Equatable {
    /// The name (`"weight"`, `"running_mean"`).
    public var name: String
    /// The shape.
    public var shape: [Int]

    /// Names a tensor of a shape.
    public init(_ name: String, _ shape: [Int]) {
        self.name = name
        self.shape = shape
    }
}

/// A layer that cannot take a given input shape, or a specification that describes no valid layer.
public struct LayerShapeError: Error, Equatable, CustomStringConvertible {
    /// What is wrong, in one sentence.
    public var message: String

    /// Describes the problem.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// The layer kinds model files may hold: one line per kind.
public enum LayerKinds {
    /// Every registered specification type. A new layer kind adds its `Specification` here (see "Adding a layer").
    public static let all: [any LayerSpecification.Type] = [
        DenseSpecification.self,
        ActivationSpecification.self,
        DropoutSpecification.self,
        Conv2DSpecification.self,
        MaxPool2DSpecification.self,
        AveragePool2DSpecification.self,
        GlobalAveragePoolSpecification.self,
        FlattenSpecification.self,
        BatchNormSpecification.self,
        LayerNormSpecification.self,
    ]

    /// The specification type registered under `kind`.
    public static func specification(named kind: String) -> (any LayerSpecification.Type)? {
        all.first { $0.kind == kind }
    }
}
