import BackpropCore
import BackpropNN

/// Every layer kind's form in an ONNX graph, both ways: the nodes that compute it at inference (export), and the
/// nodes recognised as it (import). A new layer kind adds its conformance to ``ONNXLayerForm`` here and, if ONNX
/// files from elsewhere should import as it, an entry in ``ONNXLayerImport/byOperator``.
protocol ONNXLayerForm: LayerSpecification {
    /// Appends the nodes computing the layer on `input` and returns the name of its result, `output` (or `input`
    /// itself when the layer does nothing at inference).
    ///
    /// - Parameter tensors: the layer's parameters then its state, named like the model file's (`"3.weight"`).
    func exportONNX(_ input: String, output: String, tensors: [(name: String, tensor: Tensor<Float>)],
                    into graph: inout ONNXGraphBuilder) -> String
}

extension DenseSpecification: ONNXLayerForm {
    func exportONNX(_ input: String, output: String, tensors: [(name: String, tensor: Tensor<Float>)],
                    into graph: inout ONNXGraphBuilder) -> String {
        // Weights are [outputs, inputs], so the product takes them transposed.
        let names = tensors.map { graph.constant($0.name, $0.tensor) }
        return graph.add("Gemm", [input] + names, output: output, attributes: [.int("transB", 1)])
    }
}

extension ActivationSpecification: ONNXLayerForm {
    func exportONNX(_ input: String, output: String, tensors: [(name: String, tensor: Tensor<Float>)],
                    into graph: inout ONNXGraphBuilder) -> String {
        let (opType, attributes): (String, [ONNXAttribute]) = switch Activation(name: function, parameter: parameter)! {
        case .sigmoid: ("Sigmoid", [])
        case .tanh: ("Tanh", [])
        case .relu: ("Relu", [])
        case .gelu: ("Gelu", [.string("approximate", "none")])
        case .softplus: ("Softplus", [])
        case .softmax: ("Softmax", [.int("axis", -1)])
        case .identity: ("Identity", [])
        case .leakyReLU(let slope): ("LeakyRelu", [.float("alpha", slope)])
        case .elu(let alpha): ("Elu", [.float("alpha", alpha)])
        }
        return graph.add(opType, [input], output: output, attributes: attributes)
    }
}

extension DropoutSpecification: ONNXLayerForm {
    func exportONNX(_ input: String, output: String, tensors: [(name: String, tensor: Tensor<Float>)],
                    into graph: inout ONNXGraphBuilder) -> String {
        input  // the identity at inference
    }
}

extension Conv2DSpecification: ONNXLayerForm {
    func exportONNX(_ input: String, output: String, tensors: [(name: String, tensor: Tensor<Float>)],
                    into graph: inout ONNXGraphBuilder) -> String {
        let names = tensors.map { graph.constant($0.name, $0.tensor) }
        return graph.add("Conv", [input] + names, output: output, attributes: window.onnxAttributes + [.ints("dilations", [1, 1]), .int("group", 1)])
    }
}

extension MaxPool2DSpecification: ONNXLayerForm {
    func exportONNX(_ input: String, output: String, tensors: [(name: String, tensor: Tensor<Float>)],
                    into graph: inout ONNXGraphBuilder) -> String {
        graph.add("MaxPool", [input], output: output, attributes: window.onnxAttributes)
    }
}

extension AveragePool2DSpecification: ONNXLayerForm {
    func exportONNX(_ input: String, output: String, tensors: [(name: String, tensor: Tensor<Float>)],
                    into graph: inout ONNXGraphBuilder) -> String {
        graph.add("AveragePool", [input], output: output, attributes: window.onnxAttributes)
    }
}

extension GlobalAveragePoolSpecification: ONNXLayerForm {
    func exportONNX(_ input: String, output: String, tensors: [(name: String, tensor: Tensor<Float>)],
                    into graph: inout ONNXGraphBuilder) -> String {
        // ONNX keeps the pooled 1×1 axes; the layer's samples are [channels].
        let pooled = graph.add("GlobalAveragePool", [input], output: output + ".pooled")
        return graph.add("Flatten", [pooled], output: output, attributes: [.int("axis", 1)])
    }
}

extension FlattenSpecification: ONNXLayerForm {
    func exportONNX(_ input: String, output: String, tensors: [(name: String, tensor: Tensor<Float>)],
                    into graph: inout ONNXGraphBuilder) -> String {
        graph.add("Flatten", [input], output: output, attributes: [.int("axis", 1)])
    }
}

extension BatchNormSpecification: ONNXLayerForm {
    func exportONNX(_ input: String, output: String, tensors: [(name: String, tensor: Tensor<Float>)],
                    into graph: inout ONNXGraphBuilder) -> String {
        // Inputs: scale, offset, running mean, running variance — the layer's parameters then its state. ONNX's
        // momentum weighs the old running value (PyTorch's and Backprop's the new batch).
        let names = tensors.map { graph.constant($0.name, $0.tensor) }
        return graph.add("BatchNormalization", [input] + names, output: output,
                         attributes: [.float("epsilon", epsilon), .float("momentum", 1 - momentum)])
    }
}

extension LayerNormSpecification: ONNXLayerForm {
    func exportONNX(_ input: String, output: String, tensors: [(name: String, tensor: Tensor<Float>)],
                    into graph: inout ONNXGraphBuilder) -> String {
        let names = tensors.map { graph.constant($0.name, $0.tensor) }
        return graph.add("LayerNormalization", [input] + names, output: output,
                         attributes: [.int("axis", 1), .float("epsilon", epsilon)])
    }
}

extension SlidingWindow {
    /// `kernel_shape`, `strides` and `pads` (top, left, bottom, right) of ONNX's pooling and convolution operators.
    var onnxAttributes: [ONNXAttribute] {
        [.ints("kernel_shape", [kernelHeight, kernelWidth]), .ints("strides", [strideHeight, strideWidth]),
         .ints("pads", [padTop, padLeft, padBottom, padRight])]
    }
}

// MARK: - Import

/// A layer recognised in an ONNX graph: its description and tensors (parameters, then state).
struct ImportedLayer {
    var specification: any LayerSpecification
    var parameters: [Tensor<Float>] = []
    var state: [Tensor<Float>] = []
}

/// An operator, or a use of one, that the importer does not support: the reason, without the node (the importer
/// names it).
struct ONNXUnsupported: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// The node being imported and what it may refer to: the constants of the graph, the shape of one sample of its
/// input, and the nodes after it (some layers are several nodes).
struct ONNXNodeContext {
    var node: ONNXNode
    /// The nodes after ``node`` that may still belong to the network.
    var following: ArraySlice<ONNXNode> = []
    var sampleShape: [Int]
    var constants: [String: ONNXTensor]

    /// The node after this one.
    var next: ONNXNode? { following.first }

    /// The single value of a scalar (or one-element) float constant named `name`, or `nil`.
    func scalar(_ name: String) -> Float? {
        guard let values = constants[name]?.floatValues, values.count == 1 else { return nil }
        return values[0]
    }

    /// The constant at input `index`, or `nil` when the input is absent (an optional input left out).
    func constant(_ index: Int) throws(ONNXUnsupported) -> ONNXTensor? {
        guard index < node.inputs.count, !node.inputs[index].isEmpty else { return nil }
        guard let tensor = constants[node.inputs[index]] else {
            throw ONNXUnsupported("input \(index + 1) ('\(node.inputs[index])') is not a constant; only chains of layers with constant weights import")
        }
        return tensor
    }

    /// The Float32 tensor at input `index` with `count` elements (any shape that holds them, when `shape` is
    /// `nil`), or an error saying what was expected.
    func weights(_ index: Int, _ what: String, shape: [Int]? = nil, count: Int? = nil) throws(ONNXUnsupported) -> Tensor<Float>? {
        guard let tensor = try constant(index) else { return nil }
        guard let values = tensor.floatValues else { throw ONNXUnsupported("\(what) is not a floating-point tensor") }
        if let shape, tensor.dims != shape { throw ONNXUnsupported("\(what) has shape \(tensor.dims), expected \(shape)") }
        if let count, values.count != count { throw ONNXUnsupported("\(what) has \(values.count) values, expected \(count)") }
        guard values.allSatisfy(\.isFinite) else { throw ONNXUnsupported("\(what) contains NaN or infinite values") }
        return Tensor(shape: shape ?? tensor.dims, elements: values)
    }

    /// Attribute `name` as an integer, `defaultValue` when absent.
    func int(_ name: String, default defaultValue: Int) throws(ONNXUnsupported) -> Int {
        switch node.attribute(name) {
        case nil: return defaultValue
        case .int(let value)?: return value
        default: throw ONNXUnsupported("attribute '\(name)' is not an integer")
        }
    }

    /// Attribute `name` as a number, read back as the shortest decimal that gives the stored Float32 (so `1e-5`
    /// written by any exporter reads as `1e-5`).
    func float(_ name: String, default defaultValue: Double) throws(ONNXUnsupported) -> Double {
        switch node.attribute(name) {
        case nil: return defaultValue
        case .float(let value)?:
            guard value.isFinite else { throw ONNXUnsupported("attribute '\(name)' is not finite") }
            return shortestDecimal(value)
        default: throw ONNXUnsupported("attribute '\(name)' is not a float")
        }
    }

    func ints(_ name: String) throws(ONNXUnsupported) -> [Int]? {
        switch node.attribute(name) {
        case nil: return nil
        case .ints(let values)?: return values
        default: throw ONNXUnsupported("attribute '\(name)' is not a list of integers")
        }
    }

    func string(_ name: String, default defaultValue: String) throws(ONNXUnsupported) -> String {
        switch node.attribute(name) {
        case nil: return defaultValue
        case .string(let value)?: return value
        default: throw ONNXUnsupported("attribute '\(name)' is not a string")
        }
    }

    /// The attributes this context does not know of are refused, so that no setting is silently dropped.
    func onlyAttributes(_ known: Set<String>) throws(ONNXUnsupported) {
        if let unknown = node.attributes.first(where: { !known.contains($0.name) }) {
            throw ONNXUnsupported("attribute '\(unknown.name)' is not supported")
        }
    }

    /// The image shape of the input sample.
    func image(_ what: String) throws(ONNXUnsupported) -> (channels: Int, height: Int, width: Int) {
        guard sampleShape.count == 3 else { throw ONNXUnsupported("\(what) takes images [N, C, H, W]; its input is [N, \(sampleShape.map(String.init).joined(separator: ", "))]") }
        return (sampleShape[0], sampleShape[1], sampleShape[2])
    }

    /// The window of a 2-D convolution or pooling node: `kernel_shape` (or `kernel` when the node has none),
    /// `strides`, `pads`, with `dilations` of 1 and explicit or no padding.
    func window(kernel: (Int, Int)? = nil) throws(ONNXUnsupported) -> SlidingWindow {
        let autoPad = try string("auto_pad", default: "NOTSET")
        guard autoPad == "NOTSET" || autoPad == "VALID" else { throw ONNXUnsupported("auto_pad \(autoPad) is not supported (give explicit pads)") }
        if let dilations = try ints("dilations"), dilations.contains(where: { $0 != 1 }) {
            throw ONNXUnsupported("dilations \(dilations) are not supported")
        }
        let size = try ints("kernel_shape") ?? kernel.map { [$0.0, $0.1] }
        guard let size, size.count == 2 else { throw ONNXUnsupported("needs a 2-D kernel_shape") }
        if let kernel, size != [kernel.0, kernel.1] { throw ONNXUnsupported("kernel_shape \(size) differs from the weight's \([kernel.0, kernel.1])") }
        let strides = try ints("strides") ?? [1, 1]
        let pads = autoPad == "VALID" ? [0, 0, 0, 0] : try ints("pads") ?? [0, 0, 0, 0]
        guard strides.count == 2, pads.count == 4 else { throw ONNXUnsupported("needs 2 strides and 4 pads") }
        return SlidingWindow(kernelHeight: size[0], kernelWidth: size[1], strideHeight: strides[0], strideWidth: strides[1],
                             padTop: pads[0], padBottom: pads[2], padLeft: pads[1], padRight: pads[3])
    }
}

/// The shortest decimal that rounds to `value` in Float32, as a Double: what a person or an exporter meant.
func shortestDecimal(_ value: Float) -> Double {
    Double(value.description) ?? Double(value)
}

/// The operators that import as layers: one entry per operator, each reading its node into a layer.
enum ONNXLayerImport {
    /// What an importer returns: the layer (`nil` for nodes that compute nothing at inference, like dropout) and
    /// how many nodes it consumed (a layer may be two nodes).
    typealias Result = (layer: ImportedLayer?, nodes: Int)

    static let byOperator: [String: @Sendable (ONNXNodeContext) throws(ONNXUnsupported) -> Result] = [
        "Gemm": gemm, "MatMul": matMul,
        "Conv": conv, "MaxPool": maxPool, "AveragePool": averagePool, "GlobalAveragePool": globalAveragePool,
        "Flatten": flatten, "Reshape": reshape,
        "BatchNormalization": batchNormalization, "LayerNormalization": layerNormalization,
        "Relu": relu, "Sigmoid": sigmoid, "Tanh": tanh, "Softplus": softplus, "Identity": identity,
        "Softmax": softmax, "LeakyRelu": leakyReLU, "Elu": elu, "Gelu": gelu,
        "Dropout": dropout, "Div": geluFromErf,
    ]

    /// `Gemm(x, B, C)` with `alpha = beta = 1`, `transA = 0`: a dense layer (B is [in, out], or [out, in] with
    /// `transB = 1`; C, if present, holds one bias per output).
    static func gemm(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        try context.onlyAttributes(["alpha", "beta", "transA", "transB"])
        guard try context.float("alpha", default: 1) == 1, try context.float("beta", default: 1) == 1,
              try context.int("transA", default: 0) == 0 else {
            throw ONNXUnsupported("only alpha = beta = 1 and transA = 0 import as a dense layer")
        }
        guard context.sampleShape.count == 1 else { throw ONNXUnsupported("takes samples of one axis (flatten first)") }
        guard let b = try context.constant(1), b.dims.count == 2 else { throw ONNXUnsupported("needs a 2-D constant weight") }
        let transposed = try context.int("transB", default: 0) == 1
        let (inputs, outputs) = transposed ? (b.dims[1], b.dims[0]) : (b.dims[0], b.dims[1])
        guard inputs == context.sampleShape[0] else {
            throw ONNXUnsupported("weight \(b.dims) does not take \(context.sampleShape[0]) inputs")
        }
        var weight = try context.weights(1, "the weight")!
        if !transposed { weight = weight.transposed() }
        let bias = try context.weights(2, "the bias", count: outputs).map { Tensor(shape: [outputs], elements: $0.scalars) }
        return (ImportedLayer(specification: DenseSpecification(inputs: inputs, outputs: outputs),
                              parameters: [weight, bias ?? Tensor(shape: [outputs], repeating: 0)]), 1)
    }

    /// `MatMul(x, B)`, optionally followed by `Add(·, bias)`: a dense layer.
    static func matMul(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        guard context.sampleShape.count == 1 else { throw ONNXUnsupported("takes samples of one axis (flatten first)") }
        guard let b = try context.constant(1), b.dims.count == 2, b.dims[0] == context.sampleShape[0] else {
            throw ONNXUnsupported("needs a constant [\(context.sampleShape[0]), outputs] weight")
        }
        let outputs = b.dims[1]
        let weight = try context.weights(1, "the weight")!.transposed()
        var bias = Tensor<Float>(shape: [outputs], repeating: 0)
        var consumed = 1
        if let add = context.next, add.opType == "Add", add.domain.isEmpty, add.inputs.count == 2,
           let other = add.inputs.firstIndex(where: { context.constants[$0] != nil }), add.inputs[1 - other] == context.node.outputs.first {
            let addContext = ONNXNodeContext(node: add, sampleShape: [outputs], constants: context.constants)
            bias = Tensor(shape: [outputs], elements: try addContext.weights(other, "the bias", count: outputs)!.scalars)
            consumed = 2
        }
        return (ImportedLayer(specification: DenseSpecification(inputs: b.dims[0], outputs: outputs), parameters: [weight, bias]), consumed)
    }

    static func conv(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        try context.onlyAttributes(["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"])
        guard try context.int("group", default: 1) == 1 else { throw ONNXUnsupported("grouped convolutions are not supported") }
        let (channels, _, _) = try context.image("a convolution")
        guard let w = try context.constant(1), w.dims.count == 4, w.dims[1] == channels else {
            throw ONNXUnsupported("needs a constant weight [filters, \(channels), kh, kw]")
        }
        let window = try context.window(kernel: (w.dims[2], w.dims[3]))
        let weight = try context.weights(1, "the weight")!
        let bias = try context.weights(2, "the bias", count: w.dims[0]).map { Tensor(shape: [w.dims[0]], elements: $0.scalars) }
        return (ImportedLayer(specification: Conv2DSpecification(inputs: channels, outputs: w.dims[0], window: window, bias: bias != nil),
                              parameters: [weight] + (bias.map { [$0] } ?? [])), 1)
    }

    static func maxPool(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        try context.onlyAttributes(["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"])
        guard try context.int("ceil_mode", default: 0) == 0 else { throw ONNXUnsupported("ceil_mode 1 is not supported") }
        guard context.node.outputs.count == 1 else { throw ONNXUnsupported("the indices output is not supported") }
        _ = try context.image("max pooling")
        return (ImportedLayer(specification: MaxPool2DSpecification(window: try context.window())), 1)
    }

    static func averagePool(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        try context.onlyAttributes(["auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"])
        guard try context.int("ceil_mode", default: 0) == 0 else { throw ONNXUnsupported("ceil_mode 1 is not supported") }
        _ = try context.image("average pooling")
        let window = try context.window()
        guard !window.isPadded else { throw ONNXUnsupported("padded average pooling is not supported") }
        return (ImportedLayer(specification: AveragePool2DSpecification(window: window)), 1)
    }

    /// `GlobalAveragePool` followed by a flatten: the layer's samples are [channels], ONNX's [channels, 1, 1].
    static func globalAveragePool(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        let (channels, _, _) = try context.image("global average pooling")
        guard let next = context.next, next.inputs.first == context.node.outputs.first,
              (try? flattens(ONNXNodeContext(node: next, sampleShape: [channels, 1, 1], constants: context.constants))) == true else {
            throw ONNXUnsupported("imports only when a Flatten follows it")
        }
        return (ImportedLayer(specification: GlobalAveragePoolSpecification()), 2)
    }

    static func flatten(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        guard try flattens(context) else { throw ONNXUnsupported("only a flatten after the batch axis (axis 1) imports") }
        return (ImportedLayer(specification: FlattenSpecification()), 1)
    }

    /// `Reshape` to [batch, everything else] (shape `[0, -1]`, `[-1, n]` or `[0, n]`): a flatten.
    static func reshape(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        guard try flattens(context) else { throw ONNXUnsupported("only a reshape to [batch, features] imports (as a flatten)") }
        return (ImportedLayer(specification: FlattenSpecification()), 1)
    }

    /// Whether a `Flatten` or `Reshape` node keeps the batch axis and flattens the rest.
    private static func flattens(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Bool {
        let node = context.node
        guard node.domain.isEmpty else { return false }
        if node.opType == "Flatten" {
            try context.onlyAttributes(["axis"])
            return try context.int("axis", default: 1) == 1
        }
        guard node.opType == "Reshape", let shape = try context.constant(1), case .int64(let sizes) = shape.elements, sizes.count == 2,
              try context.int("allowzero", default: 0) == 0 || !sizes.contains(0) else { return false }
        let count = context.sampleShape.reduce(1, *)
        return [0, -1].contains(sizes[0]) && (sizes[1] == -1 || sizes[1] == count) && !(sizes[0] == -1 && sizes[1] == -1)
    }

    static func batchNormalization(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        try context.onlyAttributes(["epsilon", "momentum", "training_mode"])
        guard try context.int("training_mode", default: 0) == 0, context.node.outputs.count == 1 else {
            throw ONNXUnsupported("only the inference form imports")
        }
        guard [1, 3].contains(context.sampleShape.count) else { throw ONNXUnsupported("takes features [N, F] or images [N, C, H, W]") }
        let features = context.sampleShape[0]
        let tensors = try (1...4).map { (index: Int) throws(ONNXUnsupported) -> Tensor<Float> in
            guard let tensor = try context.weights(index, ["", "the scale", "the offset", "the mean", "the variance"][index], shape: [features]) else {
                throw ONNXUnsupported("needs all four of scale, offset, mean and variance")
            }
            return tensor
        }
        guard tensors[3].scalars.allSatisfy({ $0 >= 0 }) else { throw ONNXUnsupported("the running variance has a negative value") }
        let momentum = shortestDecimal(Float(1 - (try context.float("momentum", default: 0.9))))
        let specification = BatchNormSpecification(features: features, momentum: momentum, epsilon: try context.float("epsilon", default: 1e-5))
        return (ImportedLayer(specification: specification, parameters: Array(tensors[0...1]), state: Array(tensors[2...3])), 1)
    }

    static func layerNormalization(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        try context.onlyAttributes(["axis", "epsilon", "stash_type"])
        let shape = context.sampleShape
        let axis = try context.int("axis", default: -1)
        guard axis == 1 || axis == -shape.count else {
            throw ONNXUnsupported("only a normalisation over the whole sample (axis 1) imports; this one has axis \(axis)")
        }
        guard let scale = try context.weights(1, "the scale", count: shape.reduce(1, *)) else { throw ONNXUnsupported("needs a scale") }
        let offset = try context.weights(2, "the offset", count: shape.reduce(1, *))
        return (ImportedLayer(specification: LayerNormSpecification(shape: shape, epsilon: try context.float("epsilon", default: 1e-5)),
                              parameters: [Tensor(shape: shape, elements: scale.scalars), offset.map { Tensor(shape: shape, elements: $0.scalars) } ?? Tensor(shape: shape, repeating: 0)]), 1)
    }

    static func relu(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result { try activation(context, .relu) }
    static func sigmoid(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result { try activation(context, .sigmoid) }
    static func tanh(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result { try activation(context, .tanh) }
    static func softplus(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result { try activation(context, .softplus) }
    static func identity(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result { try activation(context, .identity) }

    private static func activation(_ context: ONNXNodeContext, _ function: Activation) throws(ONNXUnsupported) -> Result {
        try context.onlyAttributes([])
        return layer(function)
    }

    private static func layer(_ function: Activation) -> Result {
        (ImportedLayer(specification: ActivationSpecification(function: function.name, parameter: function.parameter)), 1)
    }

    static func softmax(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        try context.onlyAttributes(["axis"])
        let axis = try context.int("axis", default: -1)
        guard context.sampleShape.count == 1, axis == -1 || axis == 1 else { throw ONNXUnsupported("only a softmax over the features of [N, F] imports") }
        return layer(.softmax)
    }

    static func leakyReLU(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        try context.onlyAttributes(["alpha"])
        return layer(.leakyReLU(slope: try context.float("alpha", default: 0.01)))
    }

    static func elu(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        try context.onlyAttributes(["alpha"])
        return layer(.elu(alpha: try context.float("alpha", default: 1)))
    }

    static func gelu(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        try context.onlyAttributes(["approximate"])
        guard try context.string("approximate", default: "none") == "none" else { throw ONNXUnsupported("only the exact (erf) GELU imports") }
        return layer(.gelu)
    }

    /// GELU written out with `Erf`, as exporters targeting operator sets before 20 write it: `Div(x, √2)`, `Erf`,
    /// `Add(·, 1)`, then `x`, that sum and `0.5` multiplied by two `Mul` nodes in either grouping.
    static func geluFromErf(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        let nodes = Array(context.following.prefix(4))
        let x = context.node.inputs[0]
        func output(_ node: ONNXNode) -> String { node.outputs.first ?? "" }
        func operands(_ node: ONNXNode, _ op: String) -> [String]? {
            node.opType == op && node.domain.isEmpty && node.inputs.count == (op == "Erf" ? 1 : 2) ? node.inputs : nil
        }
        guard nodes.count == 4, context.node.inputs.count == 2, let root = context.scalar(context.node.inputs[1]),
              abs(root - Float(2).squareRoot()) < 1e-6,
              operands(nodes[0], "Erf") == [output(context.node)],
              let sum = operands(nodes[1], "Add"), sum.contains(output(nodes[0])),
              context.scalar(sum.first { $0 != output(nodes[0]) } ?? "") == 1,
              let first = operands(nodes[2], "Mul"), let second = operands(nodes[3], "Mul"), second.contains(output(nodes[2])) else {
            throw ONNXUnsupported("only the Div of GELU's erf form (x · ½ · (1 + erf(x / √2))) imports")
        }
        var factors = first + second.filter { $0 != output(nodes[2]) }
        factors.removeAll { $0 == x || $0 == output(nodes[1]) }
        guard factors.count == 1, context.scalar(factors[0]) == 0.5, (first + second).contains(x) else {
            throw ONNXUnsupported("only the Div of GELU's erf form (x · ½ · (1 + erf(x / √2))) imports")
        }
        return (layer(.gelu).layer, 5)
    }

    static func dropout(_ context: ONNXNodeContext) throws(ONNXUnsupported) -> Result {
        guard context.node.outputs.count == 1 || context.node.outputs[1].isEmpty else { throw ONNXUnsupported("the mask output is not supported") }
        return (nil, 1)
    }
}
