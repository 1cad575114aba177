/// A seeded pseudo-random number generator (xoshiro256**): the same seed gives the same sequence on every machine.
///
/// Backprop never uses a global generator: everything random (initialisation, shuffling, dropout, generated
/// datasets) takes one of these explicitly, so a seed pins a whole training run.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable, Codable {
    /// The generator's complete state; saving and restoring it resumes the sequence exactly.
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a generator whose state is expanded from `seed` with SplitMix64.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// A generator for one of many independent streams of `seed`, named by `stream` (such as epoch, batch and
    /// process): the seed and each number are mixed through SplitMix64 in turn, so that streams that differ in any
    /// number start from unrelated states.
    public init(seed: UInt64, stream: [UInt64]) {
        var mixed = seed
        for number in stream {
            var z = (mixed ^ number) &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            mixed = z ^ (z >> 31)
        }
        self.init(seed: mixed)
    }

    /// Restores a generator from a state previously read from ``state``.
    ///
    /// - Precondition: the state is not all zeros.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state != (0, 0, 0, 0), "SeededGenerator(state:): the all-zero state is invalid")
        self.state = state
    }

    /// Returns the next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    /// A uniformly distributed value in `[0, 1)` with 53 random bits.
    public mutating func nextUnitInterval() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal value (Box–Muller transform).
    public mutating func nextStandardNormal() -> Double {
        let u1 = 1 - nextUnitInterval()  // in (0, 1], so the logarithm is finite
        let u2 = nextUnitInterval()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// A uniformly distributed integer in `0..<upperBound`, without modulo bias.
    public mutating func nextIndex(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "nextIndex(below:): upper bound must be positive")
        return Int(next(upperBound: UInt64(upperBound)))
    }

    /// Returns `0..<count` in a random order (Fisher–Yates).
    public mutating func permutation(of count: Int) -> [Int] {
        var indices = Array(0..<count)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                indices.swapAt(i, nextIndex(below: i + 1))
            }
        }
        return indices
    }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        let words = try (0..<4).map { _ in try container.decode(UInt64.self) }
        guard words != [0, 0, 0, 0] else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "the all-zero generator state is invalid"))
        }
        state = (words[0], words[1], words[2], words[3])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(contentsOf: [state.0, state.1, state.2, state.3])
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public static func == (lhs: SeededGenerator, rhs: SeededGenerator) -> Bool { lhs.state == rhs.state }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(state.0)
        hasher.combine(state.1)
        hasher.combine(state.2)
        hasher.combine(state.3)
    }
}

import RealModule

private func _log(_ x: Double) -> Double { Double.log(x) }
private func _cos(_ x: Double) -> Double { Double.cos(x) }

extension SeededGenerator {
    /// Overwrites `flags` with one draw per element: 1 when the next ``nextUnitInterval()`` is below `probability`,
    /// else 0 — the draws, in order, that `Dropout` makes for its mask.
    public mutating func fillFlags(_ flags: inout [UInt8], probability: Double) {
        for i in flags.indices { flags[i] = nextUnitInterval() < probability ? 1 : 0 }
    }
}
