import BackpropCore
import BackpropNN
import Foundation

/// A saved model as an ONNX graph that takes the same raw inputs as `backprop predict` and gives the same outputs.
///
/// The graph has three parts, each written by one function here so that the importer can rebuild the first and the
/// last and compare:
///
/// 1. **Preprocessing** (`preamble(_:sampleShape:into:)`): from the raw inputs to the features the network was
///    trained on. A model whose inputs are all numbers takes one Float32 input `input` of shape [batch, sample…];
///    missing numbers (NaN) are filled with the training fill where the model has one, then the stored feature
///    scaling is applied (`Sub`/`Div`, or `Mul` for a constant factor). A CSV model with a text column takes one
///    input per column instead, named after it, [batch, 1]: numbers as Float32, text as strings, each text column
///    one-hot encoded over its training categories (`ai.onnx.ml.OneHotEncoder`; an empty string is a missing cell,
///    an unseen category gives zeros), then concatenated and scaled.
/// 2. **The network**: each layer as its standard ONNX operators (`ONNXLayerForm`); dropout is left out, batch
///    normalisation uses the running statistics. Tensors keep the model file's names (`"3.weight"`).
/// 3. **The output** (`outputs(_:from:outputs:into:)`): class probabilities `probabilities` [batch, classes]
///    exactly as `predict --probabilities` computes them (softmax, or sigmoid for binary cross-entropy), or the
///    regression `prediction` in the target's units.
///
/// The model's description goes into `metadata_props`: `class_names` and `feature_names` (JSON arrays),
/// `backprop.info` and `backprop.architecture` (the model file's JSON), from which `backprop import` restores what
/// ONNX has no place for (dropout, the training history).
public enum ONNXExport {
    /// The default-domain operator set written (20: the first with `Gelu`).
    public static let opsetVersion = 20
    /// The IR version written (9, that of operator set 20).
    public static let irVersion = 9

    /// The ONNX model of a saved model.
    ///
    /// - Throws: ``ModelFileError/incompatible(_:_:)`` when a layer has no ONNX form, the loss is not a built-in kind
    ///   (its probabilities have no operators), or two values would share a name (a CSV column named like one of the
    ///   graph's own values).
    public static func model(_ saved: SavedModel<Float>, producerVersion: String) throws -> ONNXModel {
        let model = saved.model, info = saved.info
        guard let sampleShape = model.fixedInputShape, let outputs = model.producedOutputSize else {
            throw ModelFileError.incompatible("model", "the model states no input shape, so it cannot be exported")
        }
        guard LossKinds.loss(named: info.loss.name) != nil else {
            throw ModelFileError.incompatible("model", "its loss '\(info.loss.name)' is not a built-in kind, so its outputs cannot be written as ONNX operators")
        }
        var graph = ONNXGraphBuilder()
        let (inputs, features) = preamble(info, sampleShape: sampleShape, into: &graph)
        var value = features
        var tensorIndex = 0
        let names = model.parameterNames + model.stateNames
        let tensors = model.parameters + model.state
        var stateIndex = model.parameters.count
        for (index, layer) in model.layers.enumerated() {
            guard let form = layer.specification as? any ONNXLayerForm else {
                throw ModelFileError.incompatible("model", "layer \(index) (\(layer)) has no ONNX form")
            }
            let parameterCount = layer.parameters.count, stateCount = layer.state.count
            let own = (tensorIndex..<(tensorIndex + parameterCount)).map { (names[$0], tensors[$0]) }
                + (stateIndex..<(stateIndex + stateCount)).map { (names[$0], tensors[$0]) }
            tensorIndex += parameterCount
            stateIndex += stateCount
            value = form.exportONNX(value, output: "\(index).output", tensors: own, into: &graph)
        }
        let output = self.outputs(info, from: value, outputs: outputs, into: &graph)
        let onnx = ONNXModel(
            irVersion: irVersion,
            opsets: Dictionary(uniqueKeysWithValues: graph.domains.map { ($0, $0.isEmpty ? opsetVersion : 1) }),
            producerName: "backprop", producerVersion: producerVersion,
            graph: ONNXGraph(name: "backprop", nodes: graph.nodes, initializers: graph.initializers, inputs: inputs, outputs: [output]),
            metadata: try metadata(saved))
        if let duplicate = onnx.graph.duplicateValueName {
            throw ModelFileError.incompatible("model", "cannot export: the name '\(duplicate)' would be given to two values of the graph (rename the CSV column)")
        }
        return onnx
    }

    /// Writes the ONNX model of `saved` atomically.
    public static func write(_ saved: SavedModel<Float>, to path: String, producerVersion: String) throws {
        try AtomicFile.write(try model(saved, producerVersion: producerVersion).encoded(), to: path)
    }

    /// The preprocessing nodes: the graph's inputs and the name of the features value they produce (the input itself
    /// when there is nothing to do, so that such a graph is a plain chain of layers for any importer).
    static func preamble(_ info: ModelInfo, sampleShape: [Int], into graph: inout ONNXGraphBuilder) -> (inputs: [ONNXValueInfo], features: String) {
        let batch = ONNXValueInfo.Dimension.symbolic("batch")
        let columns = info.columns ?? []
        var inputs: [ONNXValueInfo]
        var value: String
        if columns.contains(where: \.isCategorical) {
            inputs = []
            var parts: [String] = []
            for column in columns {
                let name = column.name
                inputs.append(ONNXValueInfo(name: name, elementType: column.isCategorical ? 8 : 1, shape: [batch, .fixed(1)]))
                switch column.encoding {
                case .numeric(let fill):
                    parts.append(fill.map { imputed(name, fills: [Float($0)], dims: [1], into: &graph) } ?? name)
                case .categorical(let categories, let fill):
                    var cell = name
                    if let fill {
                        let empty = graph.constant("\(name).missing", strings: [""], dims: [])
                        let isMissing = graph.add("Equal", [name, empty], output: "\(name).is_missing")
                        cell = graph.add("Where", [isMissing, graph.constant("\(name).fill", strings: [fill], dims: []), name], output: "\(name).filled")
                    }
                    let encoded = graph.add("OneHotEncoder", [cell], output: "\(name).one_hot",
                                            attributes: [.strings("cats_strings", categories), .int("zeros", 1)], domain: "ai.onnx.ml")
                    parts.append(graph.add("Flatten", [encoded], output: "\(name).indicators", attributes: [.int("axis", 1)]))
                }
            }
            value = graph.add("Concat", parts, output: "columns", attributes: [.int("axis", 1)])
            if sampleShape.count > 1 {
                let shape = graph.constant("sample_shape", integers: [-1] + sampleShape)
                value = graph.add("Reshape", [value, shape], output: "columns.shaped")
            }
        } else {
            inputs = [ONNXValueInfo(name: "input", elementType: 1, shape: [batch] + sampleShape.map { .fixed($0) })]
            value = "input"
            let fills = columns.map { column -> Float in
                if case .numeric(let fill?) = column.encoding { Float(fill) } else { .nan }
            }
            if fills.contains(where: { !$0.isNaN }) {
                value = imputed(value, fills: fills, dims: sampleShape, into: &graph)
            }
        }
        switch info.preprocessing {
        case .none:
            break
        case .standardize(let mean, let deviation):
            value = scaled(value, offsets: mean, spreads: deviation, dims: sampleShape, into: &graph)
        case .minMax(let low, let high):
            value = scaled(value, offsets: low, spreads: zip(low, high).map { $1 - $0 }, dims: sampleShape, into: &graph)
        case .uniform(let factor):
            value = graph.add("Mul", [value, graph.constant("scaling.factor", [Float(factor)], dims: [])], output: "scaled")
        }
        return (inputs, value)
    }

    /// `Where(IsNaN(x), fills, x)`: missing numbers replaced by the training fills (NaN where a feature has none).
    private static func imputed(_ value: String, fills: [Float], dims: [Int], into graph: inout ONNXGraphBuilder) -> String {
        let isMissing = graph.add("IsNaN", [value], output: "\(value).is_missing")
        return graph.add("Where", [isMissing, graph.constant("\(value).fill", fills, dims: dims), value], output: "\(value).filled")
    }

    /// `(x − offsets) / spreads`, per feature.
    private static func scaled(_ value: String, offsets: [Double], spreads: [Double], dims: [Int], into graph: inout ONNXGraphBuilder) -> String {
        let centered = graph.add("Sub", [value, graph.constant("scaling.offset", offsets.map(Float.init), dims: dims)], output: "centered")
        return graph.add("Div", [centered, graph.constant("scaling.spread", spreads.map(Float.init), dims: dims)], output: "scaled")
    }

    /// The output nodes after the network's last value, and the graph's output.
    static func outputs(_ info: ModelInfo, from value: String, outputs: Int, into graph: inout ONNXGraphBuilder) -> ONNXValueInfo {
        let batch = ONNXValueInfo.Dimension.symbolic("batch")
        guard let classes = info.classNames else {
            var result = value
            if let scaling = info.targetScaling {
                let spread = graph.constant("target.spread", [Float(scaling.standardDeviation)], dims: [])
                result = graph.add("Mul", [result, spread], output: "prediction.scaled")
                result = graph.add("Add", [result, graph.constant("target.mean", [Float(scaling.mean)], dims: [])], output: "prediction")
            } else {
                graph.add("Identity", [result], output: "prediction")
            }
            return ONNXValueInfo(name: "prediction", elementType: 1, shape: [batch, .fixed(outputs)])
        }
        switch info.loss {
        case is SoftmaxCrossEntropy:
            graph.add("Softmax", [value], output: "probabilities", attributes: [.int("axis", -1)])
        case is BinaryCrossEntropy where outputs == 1:
            let positive = graph.add("Sigmoid", [value], output: "probabilities.positive")
            let negative = graph.add("Sub", [graph.constant("probabilities.one", [1], dims: []), positive], output: "probabilities.negative")
            graph.add("Concat", [negative, positive], output: "probabilities", attributes: [.int("axis", 1)])
        case is BinaryCrossEntropy:
            graph.add("Sigmoid", [value], output: "probabilities")
        default:
            graph.add("Identity", [value], output: "probabilities")
        }
        return ONNXValueInfo(name: "probabilities", elementType: 1, shape: [batch, .fixed(classes.count)])
    }

    private static func metadata(_ saved: SavedModel<Float>) throws -> [ONNXMetadataEntry] {
        let encoder = ModelJSON.encoder()
        var entries: [ONNXMetadataEntry] = []
        if let classes = saved.info.classNames {
            entries.append(ONNXMetadataEntry(key: "class_names", value: String(decoding: try encoder.encode(classes), as: UTF8.self)))
        }
        if let features = saved.info.featureNames {
            entries.append(ONNXMetadataEntry(key: "feature_names", value: String(decoding: try encoder.encode(features), as: UTF8.self)))
        }
        let file = try saved.metadata()
        entries.append(ONNXMetadataEntry(key: "backprop.architecture", value: file["architecture"]!))
        entries.append(ONNXMetadataEntry(key: "backprop.info", value: file["info"]!))
        return entries
    }
}

extension ONNXGraph {
    /// A name given to two values (inputs, initializers, node outputs), or `nil`.
    var duplicateValueName: String? {
        var seen = Set<String>()
        for name in inputs.map(\.name) + initializers.map(\.name) + nodes.flatMap(\.outputs) where !seen.insert(name).inserted {
            return name
        }
        return nil
    }
}
