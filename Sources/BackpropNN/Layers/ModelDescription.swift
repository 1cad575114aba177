import BackpropCore

/// A network written as text, one layer per comma-separated item, as `backprop train --model` takes it:
///
/// ```
/// conv 32 3x3 relu, maxpool 2, conv 64 3x3 relu, maxpool 2, flatten, dropout 0.5, dense 10
/// ```
///
/// | item | layer |
/// | --- | --- |
/// | `conv F K [stride S] [same \| valid \| pad P] [nobias] [ACT]` | ``Conv2D`` of F filters of K×K (or `HxW`), then ACT |
/// | `maxpool K [stride S]`, `avgpool K [stride S]` | ``MaxPool2D``, ``AveragePool2D`` (stride K by default) |
/// | `gap` | ``GlobalAveragePool`` |
/// | `flatten` | ``Flatten`` |
/// | `dropout R` | ``Dropout`` of rate R |
/// | `dense N [ACT]` | ``Dense`` of N outputs, then ACT |
/// | `batchnorm`, `layernorm` | ``BatchNorm``, ``LayerNorm`` over whatever comes before |
/// | `ACT` | an ``ActivationLayer``: relu, leaky-relu [slope], elu [α], gelu, tanh, sigmoid, softplus, softmax |
///
/// Sizes that follow from the input (a convolution's input channels, a dense layer's inputs) are never written:
/// ``build(inputShape:seed:parameterLimit:valuesPerSampleLimit:)`` infers them layer by layer. Weights are initialised for the activation that
/// follows (He for the ReLU family, Glorot otherwise).
public struct ModelDescription: Sendable, Equatable, CustomStringConvertible {
    /// One item: a layer, with the activation written after it.
    public struct Item: Sendable, Equatable {
        /// What the item describes.
        public enum Kind: Sendable, Equatable {
            /// `conv F K…`: a ``Conv2D``.
            case convolution(filters: Int, kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Padding, bias: Bool)
            /// `maxpool K [stride S]`.
            case maxPool(size: Int, stride: Int)
            /// `avgpool K [stride S]`.
            case averagePool(size: Int, stride: Int)
            /// `gap`, `flatten`, `batchnorm`, `layernorm`.
            case globalAveragePool, flatten, batchNorm, layerNorm
            /// `dropout R`.
            case dropout(rate: Double)
            /// `dense N`.
            case dense(outputs: Int)
            /// An activation on its own (the item's ``Item/activation``).
            case activation
        }

        /// A convolution's padding as written.
        public enum Padding: Sendable, Equatable {
            /// `valid` (the default): none; `same`: kernel − 1 rows and columns in all.
            case valid, same
            /// `pad P`: P on every side.
            case explicit(Int)
        }

        /// The layer.
        public var kind: Kind
        /// The activation after it (the item's own for `activation`).
        public var activation: Activation?
        /// The item as written, for messages.
        public var text: String
    }

    /// The items, first to last.
    public var items: [Item]

    /// The text this description was parsed from.
    public let description: String

    /// The item keywords, for messages.
    static let keywords = "conv, maxpool, avgpool, gap, flatten, dropout, dense, batchnorm, layernorm or an activation (relu, leaky-relu, elu, gelu, tanh, sigmoid, softplus, softmax)"

    /// Parses a description.
    ///
    /// - Throws: ``ModelDescriptionError`` naming the item, the token and what was expected there.
    public init(parsing text: String) throws(ModelDescriptionError) {
        description = text
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingWhitespace }
        guard !(parts.count == 1 && parts[0].isEmpty) else { throw ModelDescriptionError("the description is empty; expected layers such as 'conv 32 3x3 relu, maxpool 2, flatten, dense 10'") }
        items = []
        for (index, part) in parts.enumerated() {
            items.append(try Self.parseItem(part, number: index + 1))
        }
    }

    private static func parseItem(_ text: String, number: Int) throws(ModelDescriptionError) -> Item {
        var tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)[...]
        func fail(_ message: String) -> ModelDescriptionError {
            ModelDescriptionError("layer \(number) '\(text)': \(message)")
        }
        guard let keyword = tokens.popFirst()?.lowercased() else { throw fail("is empty; expected \(keywords)") }
        func integer(_ what: String) throws(ModelDescriptionError) -> Int {
            guard let token = tokens.popFirst() else { throw fail("expected \(what) after '\(keyword)'") }
            guard let value = Int(token), (1...LayerPlan.maximumDimension).contains(value) else {
                throw fail("'\(token)' is not \(what); expected a whole number from 1 to \(LayerPlan.maximumDimension)")
            }
            return value
        }
        func stride(default value: Int) throws(ModelDescriptionError) -> Int {
            guard tokens.first?.lowercased() == "stride" else { return value }
            tokens.removeFirst()
            return try integer("a stride")
        }
        func activation() throws(ModelDescriptionError) -> Activation? {
            guard let token = tokens.popFirst() else { return nil }
            guard let parsed = Activation(name: token), parsed != .identity else {
                throw fail("'\(token)' is not an activation; expected relu, leaky-relu, elu, gelu, tanh, sigmoid, softplus or softmax")
            }
            return try withParameter(parsed)
        }
        func withParameter(_ activation: Activation) throws(ModelDescriptionError) -> Activation {
            guard activation.parameter != nil, let token = tokens.first, let value = Double(token) else { return activation }
            tokens.removeFirst()
            guard value.isFinite, value >= 0 else { throw fail("'\(token)' is not a valid \(activation.name) parameter") }
            return Activation(name: activation.name, parameter: value)!
        }
        func finished(_ item: Item) throws(ModelDescriptionError) -> Item {
            if let extra = tokens.first { throw fail("unexpected '\(extra)'") }
            return item
        }
        switch keyword {
        case "conv", "conv2d":
            let filters = try integer("a number of filters")
            guard let kernelToken = tokens.popFirst() else { throw fail("expected a kernel size such as 3x3 after the filters") }
            let sides = kernelToken.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(sides.count), let height = sides[0], let width = sides.last ?? nil,
                  (1...LayerPlan.maximumDimension).contains(height), (1...LayerPlan.maximumDimension).contains(width) else {
                throw fail("'\(kernelToken)' is not a kernel size; expected K or HxW such as 3x3")
            }
            var strideValue = 1, padding = Item.Padding.valid, bias = true
            while let token = tokens.first?.lowercased(), ["stride", "same", "valid", "pad", "nobias"].contains(token) {
                switch token {
                case "stride": strideValue = try stride(default: 1)
                case "same": tokens.removeFirst(); padding = .same
                case "valid": tokens.removeFirst(); padding = .valid
                case "pad":
                    tokens.removeFirst()
                    guard let token = tokens.popFirst(), let value = Int(token), value >= 0, value < Swift.min(height, width) else {
                        throw fail("'pad' needs a number of zero rows and columns smaller than the kernel")
                    }
                    padding = .explicit(value)
                default: tokens.removeFirst(); bias = false
                }
            }
            let kind = Item.Kind.convolution(filters: filters, kernelHeight: height, kernelWidth: width, stride: strideValue,
                                             padding: padding, bias: bias)
            return try finished(Item(kind: kind, activation: try activation(), text: text))
        case "maxpool", "avgpool":
            let size = try integer("a window size")
            let step = try stride(default: size)
            let kind: Item.Kind = keyword == "maxpool" ? .maxPool(size: size, stride: step) : .averagePool(size: size, stride: step)
            return try finished(Item(kind: kind, activation: nil, text: text))
        case "gap", "globalavgpool": return try finished(Item(kind: .globalAveragePool, activation: nil, text: text))
        case "flatten": return try finished(Item(kind: .flatten, activation: nil, text: text))
        case "batchnorm": return try finished(Item(kind: .batchNorm, activation: nil, text: text))
        case "layernorm": return try finished(Item(kind: .layerNorm, activation: nil, text: text))
        case "dropout":
            guard let token = tokens.popFirst() else { throw fail("expected a rate after 'dropout', such as 0.5") }
            guard let rate = Double(token), rate >= 0, rate < 1 else { throw fail("'\(token)' is not a dropout rate; expected a number in [0, 1)") }
            return try finished(Item(kind: .dropout(rate: rate), activation: nil, text: text))
        case "dense", "linear":
            let outputs = try integer("a number of outputs")
            return try finished(Item(kind: .dense(outputs: outputs), activation: try activation(), text: text))
        default:
            guard let parsed = Activation(name: keyword), parsed != .identity else {
                throw fail("'\(keyword)' is not a layer; expected \(keywords)")
            }
            return try finished(Item(kind: .activation, activation: try withParameter(parsed), text: text))
        }
    }

    /// Builds the network for samples of `inputShape` (`[features]`, or `[channels, height, width]`), inferring each
    /// layer's input size from the layer before.
    ///
    /// - Parameters:
    ///   - inputShape: the shape of one sample.
    ///   - seed: the seed of the initial weights.
    ///   - parameterLimit: the most trainable values the network may have; checked before each layer's weights are
    ///     allocated.
    ///   - valuesPerSampleLimit: the most values one sample may have at any layer's output.
    /// - Throws: ``ModelDescriptionError`` naming the first item that cannot take what comes before it.
    public func build<Scalar: TensorScalar>(inputShape: [Int], seed: UInt64,
                                            parameterLimit: Int = 1 << 28,
                                            valuesPerSampleLimit: Int = 1 << 26) throws(ModelDescriptionError) -> Sequential<Scalar> {
        var generator = SeededGenerator(seed: seed)
        var layers: [any Layer<Scalar>] = []
        var shape = inputShape
        var total = 0
        for (index, item) in items.enumerated() {
            func fail(_ message: String) -> ModelDescriptionError {
                ModelDescriptionError("layer \(index + 1) '\(item.text)': \(message)")
            }
            let following = item.activation ?? items.dropFirst(index + 1).first.flatMap { $0.kind == .activation ? $0.activation : nil }
            let initializer = following.map(Initializer.standard(for:)) ?? .glorotUniform
            func reserve(_ dimensions: [Int]) throws(ModelDescriptionError) {
                let count = (try? LayerPlan.elementCount(dimensions, of: "the weight")) ?? Int.max
                guard count <= parameterLimit - total else {
                    throw fail("the network would have more than \(parameterLimit) parameters, the limit")
                }
                total += count
            }
            var made: [any Layer<Scalar>] = []
            switch item.kind {
            case .convolution(let filters, let kh, let kw, let stride, let padding, let bias):
                guard shape.count == 3 else {
                    throw fail("a convolution takes images [channels, height, width], not samples of shape \(shape) (give the data's shape with --input-shape)")
                }
                try reserve([filters, shape[0], kh, kw])
                let convolutionPadding: Conv2D<Scalar>.Padding = switch padding {
                case .valid: .valid
                case .same: .same
                case .explicit(let p): .explicit(top: p, bottom: p, left: p, right: p)
                }
                made.append(Conv2D<Scalar>(inputChannels: shape[0], outputChannels: filters, kernelSize: (kh, kw), stride: stride,
                                           padding: convolutionPadding, useBias: bias, initializer: initializer, generator: &generator))
            case .maxPool(let size, let stride): made.append(MaxPool2D<Scalar>(size: size, stride: stride))
            case .averagePool(let size, let stride): made.append(AveragePool2D<Scalar>(size: size, stride: stride))
            case .globalAveragePool: made.append(GlobalAveragePool<Scalar>())
            case .flatten: made.append(Flatten<Scalar>())
            case .batchNorm:
                guard shape.count == 1 || shape.count == 3 else { throw fail("batch normalisation takes features or images, not samples of shape \(shape)") }
                try reserve([4, shape[0]])
                made.append(BatchNorm<Scalar>(features: shape[0]))
            case .layerNorm:
                try reserve([2] + shape)
                made.append(LayerNorm<Scalar>(shape: shape))
            case .dropout(let rate): made.append(Dropout<Scalar>(rate: rate))
            case .dense(let outputs):
                guard shape.count == 1 else {
                    throw fail("a dense layer takes samples of one axis, not \(shape) (add 'flatten' before it)")
                }
                try reserve([outputs, shape[0] + 1])
                made.append(Dense<Scalar>(inputSize: shape[0], outputSize: outputs, initializer: initializer, generator: &generator))
            case .activation: break
            }
            if let activation = item.activation { made.append(ActivationLayer<Scalar>(activation)) }
            for layer in made {
                do {
                    shape = try layer.outputShape(forInput: shape)
                } catch {
                    throw fail(error.message)
                }
                guard let values = try? LayerPlan.elementCount(shape, of: "the output"), values <= valuesPerSampleLimit else {
                    throw fail("its output \(shape) holds more than \(valuesPerSampleLimit) values per sample, the limit")
                }
                layers.append(layer)
            }
        }
        return Sequential(layers, inputShape: inputShape)
    }
}

/// A model description that cannot be parsed or built, naming the item and what was expected.
public struct ModelDescriptionError: Error, Equatable, CustomStringConvertible {
    /// What is wrong, in one line.
    public var message: String

    init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

extension Substring {
    var trimmingWhitespace: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
