/// One layer of a network described before its weights exist, as `backprop train --model` writes it: the sizes
/// that follow from the input are inferred when the network is built.
///
/// ```swift
/// let layers: [LayerDescription] = [
///     .convolution(32, kernel: 3, activation: .relu), .maxPool(2),
///     .convolution(64, kernel: 3, activation: .relu), .maxPool(2),
///     .flatten, .dropout(0.5), .dense(10),
/// ]
/// let network: Sequential<Float> = try ModelDescription(layers).build(inputShape: [1, 28, 28], seed: 1)
/// ```
public typealias LayerDescription = ModelDescription.Item

extension ModelDescription.Item {
    /// A ``Dense`` layer of `outputs` units, then `activation` if given.
    public static func dense(_ outputs: Int, activation: Activation? = nil) -> Self {
        Self(kind: .dense(outputs: outputs), activation: activation, text: written("dense \(outputs)", activation))
    }

    /// A ``Conv2D`` layer of `filters` filters of `kernel`×`kernel`, then `activation` if given.
    public static func convolution(_ filters: Int, kernel: Int, stride: Int = 1, padding: Padding = .valid,
                                   bias: Bool = true, activation: Activation? = nil) -> Self {
        convolution(filters, kernelHeight: kernel, kernelWidth: kernel, stride: stride, padding: padding, bias: bias,
                    activation: activation)
    }

    /// A ``Conv2D`` layer of `filters` filters of `kernelHeight`×`kernelWidth`, then `activation` if given.
    public static func convolution(_ filters: Int, kernelHeight: Int, kernelWidth: Int, stride: Int = 1,
                                   padding: Padding = .valid, bias: Bool = true, activation: Activation? = nil) -> Self {
        var text = "conv \(filters) \(kernelHeight)x\(kernelWidth)"
        if stride != 1 { text += " stride \(stride)" }
        switch padding {
        case .valid: break
        case .same: text += " same"
        case .explicit(let p): text += " pad \(p)"
        }
        if !bias { text += " nobias" }
        return Self(kind: .convolution(filters: filters, kernelHeight: kernelHeight, kernelWidth: kernelWidth, stride: stride,
                                       padding: padding, bias: bias),
                    activation: activation, text: written(text, activation))
    }

    /// A ``MaxPool2D`` layer of `size`×`size` windows, `stride` apart (`size` by default).
    public static func maxPool(_ size: Int, stride: Int? = nil) -> Self {
        Self(kind: .maxPool(size: size, stride: stride ?? size), activation: nil,
             text: "maxpool \(size)" + (stride.map { " stride \($0)" } ?? ""))
    }

    /// An ``AveragePool2D`` layer of `size`×`size` windows, `stride` apart (`size` by default).
    public static func averagePool(_ size: Int, stride: Int? = nil) -> Self {
        Self(kind: .averagePool(size: size, stride: stride ?? size), activation: nil,
             text: "avgpool \(size)" + (stride.map { " stride \($0)" } ?? ""))
    }

    /// A ``GlobalAveragePool`` layer.
    public static var globalAveragePool: Self { Self(kind: .globalAveragePool, activation: nil, text: "gap") }

    /// A ``Flatten`` layer.
    public static var flatten: Self { Self(kind: .flatten, activation: nil, text: "flatten") }

    /// A ``BatchNorm`` layer over the features or channels of what comes before.
    public static var batchNorm: Self { Self(kind: .batchNorm, activation: nil, text: "batchnorm") }

    /// A ``LayerNorm`` layer over each sample.
    public static var layerNorm: Self { Self(kind: .layerNorm, activation: nil, text: "layernorm") }

    /// A ``Dropout`` layer of rate `rate`.
    public static func dropout(_ rate: Double) -> Self {
        Self(kind: .dropout(rate: rate), activation: nil, text: "dropout \(rate)")
    }

    /// An ``ActivationLayer``.
    public static func activation(_ activation: Activation) -> Self {
        Self(kind: .activation, activation: activation, text: written("", activation))
    }

    /// `text` followed by the activation as `--model` writes it (`leaky-relu 0.2`).
    private static func written(_ text: String, _ activation: Activation?) -> String {
        guard let activation else { return text }
        let word = activation.name + (activation.parameter.map { " \($0)" } ?? "")
        return text.isEmpty ? word : text + " " + word
    }
}

extension ModelDescription {
    /// A description of `layers`, checked exactly as the same network written for `--model` is.
    ///
    /// - Throws: ``ModelDescriptionError`` naming the first layer with a size, rate or option out of range.
    public init(_ layers: [LayerDescription]) throws(ModelDescriptionError) {
        let parsed = try ModelDescription(parsing: layers.map(\.text).joined(separator: ", "))
        guard parsed.items.map(\.kind) == layers.map(\.kind), parsed.items.map(\.activation) == layers.map(\.activation) else {
            throw ModelDescriptionError("the layers \(parsed.description) cannot be written as a description")
        }
        self = parsed
    }
}
