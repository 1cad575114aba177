/// A loss stored by its ``Loss/name`` (in model files, as JSON): the property wrapper of ``Loss``-typed fields of
/// `Codable` descriptions.
///
/// Decoding reads a built-in kind through ``LossKinds``, or one of the losses a reader was given in the decoder's
/// `userInfo` under ``customLossesKey`` (so a model trained with a loss of your own can be read back). Two stored
/// losses are equal when their names are.
@propertyWrapper
public struct StoredLoss: Codable, Sendable, Equatable {
    /// The loss.
    public var wrappedValue: any Loss

    /// Wraps a loss.
    public init(wrappedValue: any Loss) {
        self.wrappedValue = wrappedValue
    }

    /// The `userInfo` key under which a decoder finds losses other than the built-in kinds (an `[any Loss]`).
    public static let customLossesKey = CodingUserInfoKey(rawValue: "backprop.customLosses")!

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        let custom = decoder.userInfo[Self.customLossesKey] as? [any Loss] ?? []
        guard let loss = LossKinds.loss(named: name, custom: custom) else {
            let known = LossKinds.names + custom.map(\.name)
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "unknown loss '\(name)' (known: \(known.joined(separator: ", ")); pass a loss of your own to the reader)"))
        }
        wrappedValue = loss
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue.name)
    }

    public static func == (lhs: StoredLoss, rhs: StoredLoss) -> Bool { lhs.wrappedValue.name == rhs.wrappedValue.name }
}
