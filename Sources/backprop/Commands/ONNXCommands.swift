import ArgumentParser
import BackpropData
import BackpropNN

/// The formats `backprop export` writes.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case onnx
}

/// `backprop export`: a model file as an ONNX model for ONNX Runtime and other frameworks.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a saved model to ONNX (preprocessing, network and class probabilities in one graph).",
        discussion: """
        The graph takes the raw inputs `backprop predict` takes: one float input `input` [batch, features] (or \
        [batch, channels, height, width]), or, for a CSV model with a text column, one input per column named after \
        it, [batch, 1]. Its output is `probabilities` [batch, classes] for a classifier and `prediction` for a \
        regression model. Class and feature names are in the model's metadata_props.
        """)

    @Argument(help: "The model file written by `backprop train --output`.")
    var model: String

    @Option(help: "The format to write.")
    var format: ExportFormat = .onnx

    @Option(help: "The file to write (atomically).")
    var output: String

    @Flag(help: "Overwrite --output even if it is a Backprop model or checkpoint.")
    var force = false

    func run() throws {
        try checkOutput(output, for: "--output", writes: .other("an ONNX model"), force: force)
        let saved = try SavedModel<Float>.read(from: model)
        try ONNXExport.write(saved, to: output, producerVersion: Backprop.version)
        print("wrote \(output): ONNX operator set \(ONNXExport.opsetVersion), input \(saved.info.columns?.contains(where: \.isCategorical) == true ? "one per column" : "'input'"), output '\(saved.info.classNames == nil ? "prediction" : "probabilities")'")
    }
}

/// `backprop import`: an ONNX model (a chain of supported layers) as a Backprop model file.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an ONNX model (a chain of layers, e.g. an exported nn.Sequential) as a Backprop model file.",
        discussion: """
        Supported operators: Gemm, MatMul (+ Add), Conv, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape \
        (to [batch, features]), BatchNormalization, LayerNormalization, Relu, LeakyRelu, Elu, Sigmoid, Tanh, \
        Softplus, Gelu, Softmax, Identity and Dropout (dropped). A final Softmax makes the model a classifier, as \
        does --classes; otherwise it predicts numbers. A file written by `backprop export` comes back whole: \
        preprocessing, classes, dropout layers and training history.
        """)

    @Argument(help: "The ONNX file.")
    var onnx: String

    @Option(help: "The model file to write (atomically).")
    var output: String

    @Option(help: "Class names in output order, comma-separated (makes the model a classifier).")
    var classes: String?

    @Flag(help: "Overwrite --output even if it is not a Backprop model.")
    var force = false

    func run() throws {
        try checkOutput(output, for: "--output", writes: .model, force: force)
        let names = classes.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { String($0) } }
        let result = try ONNXImport.read(from: onnx, classNames: names)
        printNotices(result.notices)
        try result.saved.write(to: output)
        let info = result.saved.info
        print("wrote \(output): \(result.saved.model.layers.count) layers, \(result.saved.model.parameterCount) parameters, "
              + (info.classNames.map { "classifier of \($0.count) classes" } ?? "regression model"))
    }
}
