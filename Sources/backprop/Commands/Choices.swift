import ArgumentParser
import BackpropCore
import BackpropData
import BackpropNN

/// An option's value given by name (`--optimizer adam`): parsed by ``parser(for:)``, so that a typo gets "did you
/// mean" and the list of names, and listed by ArgumentParser in help and shell completions.
protocol NamedArgument: ExpressibleByArgument, Sendable {
    /// The names the option takes.
    static var argumentNames: [String] { get }
}

extension NamedArgument {
    /// The parser of `flag`'s values: a mistyped name is a one-line error naming the closest valid one.
    static func parser(for flag: String) -> @Sendable (String) throws -> Self {
        { text in
            guard let value = Self(argument: text.lowercased()) else { throw ValidationError(suggestion(text, valid: argumentNames)) }
            return value
        }
    }
}

extension NamedArgument where Self: CaseIterable & RawRepresentable, RawValue == String {
    static var argumentNames: [String] { allCases.map(\.rawValue) }
}

/// `--optimizer`: the update rules by name.
enum OptimizerName: String, CaseIterable, NamedArgument {
    case sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad

    /// The conventional learning rate: 0.001 for the adaptive rules, 0.01 for the others.
    var defaultLearningRate: Double { [.adam, .adamw, .rmsprop].contains(self) ? 0.001 : 0.01 }

    /// The rule with its learning rate, weight decay (L2, or decoupled for AdamW) and schedule.
    func optimizer(learningRate: Double, weightDecay: Double, schedule: LearningRateSchedule) -> any Optimizer {
        switch self {
        case .sgd: SGD(learningRate: learningRate, weightDecay: weightDecay, schedule: schedule)
        case .momentum: SGD(learningRate: learningRate, momentum: 0.9, weightDecay: weightDecay, schedule: schedule)
        case .nesterov: SGD(learningRate: learningRate, momentum: 0.9, nesterov: true, weightDecay: weightDecay, schedule: schedule)
        case .adam: Adam(learningRate: learningRate, weightDecay: weightDecay > 0 ? .l2(weightDecay) : nil, schedule: schedule)
        case .adamw: Adam.adamW(learningRate: learningRate, weightDecay: weightDecay > 0 ? weightDecay : 0.01, schedule: schedule)
        case .rmsprop: RMSProp(learningRate: learningRate, weightDecay: weightDecay, schedule: schedule)
        case .adagrad: Adagrad(learningRate: learningRate, weightDecay: weightDecay, schedule: schedule)
        }
    }
}

/// `--activation`: a perceptron's hidden activation (softmax, not element-wise, is an output layer only).
extension Activation: NamedArgument {
    static var argumentNames: [String] { ["relu", "leaky-relu", "elu", "gelu", "tanh", "sigmoid", "softplus", "identity"] }
    public static var allValueStrings: [String] { argumentNames }

    public init?(argument: String) {
        guard Self.argumentNames.contains(argument) || argument == "linear" || argument == "leakyrelu" else { return nil }
        self.init(name: argument)
    }
}

/// `--precision`: the precision of the matrix products.
enum PrecisionName: String, CaseIterable, NamedArgument {
    case float32, bf16

    var precision: MatrixPrecision { self == .bf16 ? .bfloat16 : .float32 }
}

extension FeatureScaling.Kind: NamedArgument {}
extension TabularOptions.MissingValues: NamedArgument {}
extension TabularOptions.Task: NamedArgument {}

/// `--loss`: a built-in loss by name, with its parameter after a colon (`huber:0.5`).
struct LossArgument: NamedArgument {
    var loss: any Loss

    static var argumentNames: [String] { LossKinds.names }
    static var allValueStrings: [String] { argumentNames }

    init?(argument: String) {
        guard let loss = LossKinds.loss(named: argument) else { return nil }
        self.loss = loss
    }

    static func parser(for flag: String) -> @Sendable (String) throws -> LossArgument {
        { text in
            guard let value = LossArgument(argument: text) else {
                let kind = String(text.split(separator: ":", maxSplits: 1).first ?? "")
                if LossKinds.loss(named: kind) != nil {
                    throw ValidationError("the parameter after '\(kind):' is out of range (huber takes δ > 0; label smoothing is in [0, 1); the others take none)")
                }
                throw ValidationError(suggestion(kind, valid: argumentNames))
            }
            return value
        }
    }
}

/// What follows ArgumentParser's "The value 'x' is invalid for '--flag <flag>':" — the nearest valid name, if the
/// value looks like a typo of one, and the list.
private func suggestion(_ value: String, valid: [String]) -> String {
    (Suggestion.nearest(to: value, in: valid).map { "did you mean '\($0)'? " } ?? "") + "valid: \(valid.joined(separator: ", "))"
}
