import BackpropCore
import BackpropNN
import Foundation

/// An ONNX file as a Backprop model: a chain of supported operators (`ONNXLayerImport.byOperator`) from one input
/// to one output, as `torch.onnx.export` writes an `nn.Sequential` and as ``ONNXExport`` writes every model.
///
/// A file Backprop exported is recognised by its metadata (`backprop.info`): when the graph's preprocessing and
/// output nodes are exactly the ones the export writes for that description, the model comes back with its
/// preprocessing, classes, loss and history, and the dropout layers of `backprop.architecture` are put back when
/// the rest of the architecture matches the graph. Metadata that does not match its graph is ignored (with a
/// notice): the graph is what ONNX Runtime computes, so it is what is imported.
///
/// Any other file imports as a network on the raw input: a final `Softmax` makes it a classifier (softmax
/// cross-entropy on the layers before it), and so do class names given by the caller; otherwise it is a regression
/// model with the mean-squared-error loss. Samples of one axis are CSV rows with the columns of a file without a
/// header row (`column1`, …); images are read from IDX files as pixel / 255, and the model's description says so.
public enum ONNXImport {
    /// A model read from an ONNX file, and what the reader noticed on the way.
    public struct Result {
        /// The model, with its description, ready to write as a model file.
        public var saved: SavedModel<Float>
        /// Sentences about what was not taken from the file's metadata, and why.
        public var notices: [String]
    }

    /// The default-domain operator sets whose operators the importer reads with the meaning it knows.
    public static let supportedOpsets = 11...23

    /// Reads an ONNX file.
    ///
    /// - Parameters:
    ///   - path: the `.onnx` file (an external data file it names is read from its directory).
    ///   - classNames: the classes of a classifier, in output order (overrides the file's `class_names`).
    /// - Throws: ``ModelFileError`` naming the node and operator that cannot be imported, or what is malformed;
    ///   ``DataError`` when the file cannot be read.
    public static func read(from path: String, classNames: [String]? = nil) throws -> Result {
        try decode(try FileBytes.read(path, limit: ONNXLimits.fileBytes), file: path, classNames: classNames,
                   externalData: ONNXExternalData(besideModelAt: path))
    }

    /// Parses ONNX bytes; `file` names the source in errors. Tensors kept in external files are refused (``read(from:classNames:)``
    /// reads them).
    public static func decode(_ bytes: [UInt8], file: String, classNames: [String]? = nil) throws -> Result {
        try decode(bytes, file: file, classNames: classNames, externalData: nil)
    }

    static func decode(_ bytes: [UInt8], file: String, classNames: [String]?, externalData: ONNXExternalData?) throws -> Result {
        let onnx: ONNXModel
        do {
            onnx = try ONNXModel(decoding: bytes[...], externalData: externalData)
        } catch {
            throw ModelFileError.corrupt(file, "not a valid ONNX model: \(error.reason)")
        }
        var importer = Importer(model: onnx, file: file)
        return try importer.run(classNames: classNames)
    }
}

/// One import, step by step.
private struct Importer {
    let model: ONNXModel
    let file: String
    var notices: [String] = []
    /// Initializers and the values of `Constant` nodes, by name.
    var constants: [String: ONNXTensor] = [:]
    /// The nodes that compute, in order (`Constant` nodes are folded into ``constants``).
    var nodes: [ONNXNode] = []

    init(model: ONNXModel, file: String) {
        self.model = model
        self.file = file
    }

    func unsupported(_ reason: String) -> ModelFileError { .incompatible(file, reason) }

    mutating func run(classNames: [String]?) throws -> ONNXImport.Result {
        let opset = model.opsets[""] ?? model.opsets["ai.onnx"] ?? 0
        guard ONNXImport.supportedOpsets.contains(opset) else {
            throw unsupported("uses operator set \(opset) of ai.onnx; operator sets \(ONNXImport.supportedOpsets.lowerBound) to \(ONNXImport.supportedOpsets.upperBound) import")
        }
        try foldConstants()
        let graph = model.graph
        let inputs = graph.inputs.filter { constants[$0.name] == nil }  // files before IR 4 list initializers as inputs
        guard graph.outputs.count == 1, let output = graph.outputs.first else {
            throw unsupported("the graph has \(graph.outputs.count) outputs; a model with one output imports")
        }

        let metadata = Dictionary(model.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        let decoder = ModelJSON.decoder()
        var info = metadata["backprop.info"].flatMap { try? decoder.decode(ModelInfo.self, from: Data($0.utf8)) }
        let storedArchitecture = metadata["backprop.architecture"].flatMap { try? decoder.decode(ModelArchitecture.self, from: Data($0.utf8)) }
        if metadata["backprop.info"] != nil && info == nil { notices.append("the file's backprop.info metadata cannot be read; it is ignored") }

        // Where the network starts: after Backprop's own preprocessing, or at the single raw input.
        var start = 0
        var value: String
        var sampleShape: [Int]
        if let described = info, let match = matchPreamble(described, inputs: inputs, architecture: storedArchitecture) {
            (start, value, sampleShape) = match
        } else {
            if info != nil {
                notices.append("the file's Backprop description does not match its preprocessing nodes; the graph is imported without it")
                info = nil
            }
            guard inputs.count == 1, let input = inputs.first else {
                throw unsupported("the graph has \(inputs.count) inputs; a model with one input imports")
            }
            guard input.elementType == 1, let shape = input.shape, [2, 4].contains(shape.count) else {
                throw unsupported("input '\(input.name)' must be a float tensor [batch, features] or [batch, channels, height, width]")
            }
            sampleShape = try shape.dropFirst().map { dimension throws -> Int in
                guard case .fixed(let size) = dimension, (1...LayerPlan.maximumDimension).contains(size) else {
                    throw unsupported("input '\(input.name)' must have fixed sizes after the batch axis, not \(shape)")
                }
                return size
            }
            value = input.name
        }

        // Where it ends: before Backprop's output nodes, before a final softmax, or at the graph's output.
        var end = nodes.count
        var outputsSoftmax = false
        if let described = info {
            let count = tailNodeCount(described)
            guard count <= nodes.count - start else { throw unsupported("the graph ends before its output nodes") }
            end = nodes.count - count
        } else if let last = nodes.last, last.opType == "Softmax", last.domain.isEmpty, nodes.count > start,
                  [nil, .int(-1), .int(1)].contains(last.attribute("axis")) {
            end -= 1
            outputsSoftmax = true
        }

        var layers: [ImportedLayer] = []
        var shape = sampleShape
        var index = start
        while index < end {
            let node = nodes[index]
            let label = "node '\(node.name.isEmpty ? node.outputs.first ?? "" : node.name)' (\(node.opType))"
            guard node.domain.isEmpty || node.domain == "ai.onnx", let importer = ONNXLayerImport.byOperator[node.opType] else {
                let known = ONNXLayerImport.byOperator.keys.sorted().joined(separator: ", ")
                throw unsupported("\(label)\(node.domain.isEmpty ? "" : " of domain \(node.domain)") is not supported; the operators that import are \(known)")
            }
            guard node.inputs.first == value else {
                throw unsupported("\(label) does not take the previous layer's output ('\(value)'); only a chain of layers imports")
            }
            let context = ONNXNodeContext(node: node, following: nodes[(index + 1)..<end], sampleShape: shape, constants: constants)
            let result: ONNXLayerImport.Result
            do {
                result = try importer(context)
            } catch {
                throw unsupported("\(label): \(error.reason)")
            }
            if let layer = result.layer {
                guard layers.count < Limits.layers else { throw unsupported("the graph has more than \(Limits.layers) layers") }
                let plan: LayerPlan
                do {
                    plan = try layer.specification.plan(forInput: shape)
                } catch {
                    throw unsupported("\(label): \(error.message)")
                }
                precondition(plan.parameters.map(\.shape) == layer.parameters.map(\.shape) && plan.state.map(\.shape) == layer.state.map(\.shape),
                             "ONNX import: \(node.opType) built tensors that do not fit its layer")
                shape = plan.outputShape
                layers.append(layer)
            }
            guard let produced = nodes[index + result.nodes - 1].outputs.first, !produced.isEmpty else {
                throw unsupported("\(label) names no output")
            }
            value = produced
            index += result.nodes
        }
        guard !layers.isEmpty else { throw unsupported("the graph holds no layer") }
        guard let outputs = shape.count == 1 ? shape[0] : nil else {
            throw unsupported("the network's output has shape \(shape) per sample; a model's output is a vector (flatten it)")
        }

        if let described = info {
            var expected = ONNXGraphBuilder()
            let outputValue = ONNXExport.outputs(described, from: value, outputs: outputs, into: &expected)
            guard Array(nodes[end...]) == expected.nodes, expected.initializers.allSatisfy({ constants[$0.name] == $0 }), output == outputValue else {
                throw unsupported("the nodes after '\(value)' are not the output nodes Backprop writes for this model's loss; such a file cannot be imported")
            }
        } else {
            let final = outputsSoftmax ? nodes[end].outputs.first : value
            if outputsSoftmax && nodes[end].inputs.first != value {
                throw unsupported("the final Softmax does not take the last layer's output ('\(value)')")
            }
            guard output.name == final else { throw unsupported("the graph's output '\(output.name)' is not the last layer's output") }
        }

        let architecture = restoredArchitecture(ModelArchitecture(inputShape: sampleShape, layers: layers.map(\.specification)), from: storedArchitecture)
        let modelInfo = try describe(info, sampleShape: sampleShape, outputs: outputs, classifier: outputsSoftmax, classNames: classNames,
                                     featureNames: metadata["feature_names"], storedClasses: metadata["class_names"])
        let network: Sequential<Float> = try architecture.build(file: file, parameters: layers.flatMap(\.parameters), state: layers.flatMap(\.state))
        if let problem = modelInfo.inconsistency(with: network) { throw unsupported(problem) }
        return ONNXImport.Result(saved: SavedModel(model: network, info: modelInfo), notices: notices)
    }

    /// Moves the values of `Constant` nodes into ``constants`` and keeps the other nodes.
    private mutating func foldConstants() throws {
        for tensor in model.graph.initializers { constants[tensor.name] = tensor }
        for node in model.graph.nodes {
            guard node.opType == "Constant", node.domain.isEmpty else {
                nodes.append(node)
                continue
            }
            guard node.outputs.count == 1, node.attributes.count == 1, case .tensor(let tensor)? = node.attribute("value") else {
                throw unsupported("Constant node '\(node.name)' must hold one tensor in its 'value' attribute")
            }
            constants[node.outputs[0]] = tensor
        }
    }

    /// The node index after Backprop's preprocessing for `info`, the features value and the sample shape, when the
    /// graph begins exactly with those nodes.
    private func matchPreamble(_ info: ModelInfo, inputs: [ONNXValueInfo], architecture: ModelArchitecture?) -> (Int, String, [Int])? {
        var sampleShape = architecture?.inputShape
        if sampleShape == nil, inputs.count == 1, let shape = inputs[0].shape {
            sampleShape = shape.dropFirst().compactMap { if case .fixed(let size) = $0 { size } else { nil } }
        }
        guard let sampleShape, (try? LayerPlan.elementCount(sampleShape, of: "input")) != nil else { return nil }
        var expected = ONNXGraphBuilder()
        let (expectedInputs, features) = ONNXExport.preamble(info, sampleShape: sampleShape, into: &expected)
        let count = expected.nodes.count
        guard inputs == expectedInputs, nodes.count >= count, Array(nodes[..<count]) == expected.nodes,
              expected.initializers.allSatisfy({ constants[$0.name] == $0 }) else { return nil }
        return (count, features, sampleShape)
    }

    /// How many nodes Backprop's output part has for `info`.
    private func tailNodeCount(_ info: ModelInfo) -> Int {
        var builder = ONNXGraphBuilder()
        _ = ONNXExport.outputs(info, from: "last", outputs: 1, into: &builder)
        return builder.nodes.count
    }

    /// The stored architecture when it is the graph's with dropout layers added (dropout is not in the graph), else
    /// the graph's.
    private mutating func restoredArchitecture(_ graph: ModelArchitecture, from stored: ModelArchitecture?) -> ModelArchitecture {
        guard let stored else { return graph }
        let encoder = ModelJSON.encoder()
        let withoutDropout = ModelArchitecture(inputShape: stored.inputShape, layers: stored.layers.filter { !($0 is DropoutSpecification) })
        guard let a = try? encoder.encode(withoutDropout), let b = try? encoder.encode(graph), a == b else {
            notices.append("the file's backprop.architecture does not match its graph; the graph's layers are imported")
            return graph
        }
        return stored
    }

    /// The model's description: the file's own when it matched, else one made from the graph and the caller's
    /// class names.
    private func describe(_ info: ModelInfo?, sampleShape: [Int], outputs: Int, classifier: Bool, classNames: [String]?, featureNames: String?,
                          storedClasses: String?) throws -> ModelInfo {
        let decoder = ModelJSON.decoder()
        if var info {
            if let classNames {
                guard info.classNames != nil else { throw unsupported("class names were given for a regression model") }
                info.classNames = classNames
            }
            return info
        }
        // Names stored by another exporter are taken when they fit the network; class names given by the caller
        // must fit (the model's consistency check says so otherwise). Samples of one axis are CSV rows, whose
        // columns are named as a file without a header row names them; images have no feature names (IDX data).
        let inputs = sampleShape.reduce(1, *)
        let features = featureNames.flatMap { try? decoder.decode([String].self, from: Data($0.utf8)) }.flatMap { $0.count == inputs ? $0 : nil }
            ?? (sampleShape.count == 1 ? (1...inputs).map { "column\($0)" } : nil)
        let classes = classNames ?? storedClasses.flatMap { try? decoder.decode([String].self, from: Data($0.utf8)) }.flatMap { $0.count == outputs ? $0 : nil }
        // Backprop reads images (IDX) as pixel / 255; the description says so.
        let preprocessing: FeatureScaling = sampleShape.count == 3 ? .uniform(factor: 1.0 / 255) : .none
        if classifier || classNames != nil {
            return ModelInfo(task: .classification, classNames: classes ?? (0..<outputs).map(String.init),
                             featureNames: features, preprocessing: preprocessing, loss: .softmaxCrossEntropy(labelSmoothing: 0),
                             labelColumn: nil, training: nil)
        }
        return ModelInfo(task: .regression, classNames: nil, featureNames: features, preprocessing: preprocessing, loss: .halfSquaredError,
                         labelColumn: nil, training: nil)
    }
}
