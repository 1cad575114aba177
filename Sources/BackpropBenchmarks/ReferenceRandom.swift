/// The random draws of the numpy reference (`../shared/bench/fmnist.py`), reproduced: `numpy.random.default_rng(seed)`
/// — a `SeedSequence` feeding a `PCG64` — with its `uniform` and `permutation`. The reference draws every
/// implementation's initial weights and epoch orders this way, so that accuracies can be compared on the same
/// experiment rather than across different random draws.
struct ReferenceRandom {
    private var state: UInt128
    private let increment: UInt128
    private var spareHalf: UInt32?

    /// `numpy.random.default_rng(seed)`.
    init(seed: UInt32) {
        let words = Self.seedSequenceState(entropy: seed, words: 8)
        func wide(_ i: Int) -> UInt64 { UInt64(words[2 * i]) | UInt64(words[2 * i + 1]) << 32 }
        let initialState = UInt128(wide(0)) << 64 | UInt128(wide(1))
        let sequence = UInt128(wide(2)) << 64 | UInt128(wide(3))
        increment = sequence << 1 | 1
        state = 0
        step()
        state &+= initialState
        step()
    }

    private static let multiplier = UInt128(0x2360_ED05_1FC6_5DA4) << 64 | UInt128(0x4385_DF64_9FCC_F645)

    private mutating func step() {
        state = state &* Self.multiplier &+ increment
    }

    /// PCG64's output: the xor of the state's halves, rotated right by its top six bits.
    mutating func nextUInt64() -> UInt64 {
        step()
        let folded = UInt64(truncatingIfNeeded: state >> 64) ^ UInt64(truncatingIfNeeded: state)
        let rotation = UInt64(state >> 122)
        return folded >> rotation | folded << ((64 &- rotation) & 63)
    }

    /// Half of a 64-bit output at a time, low half first, as numpy buffers them.
    mutating func nextUInt32() -> UInt32 {
        if let half = spareHalf {
            spareHalf = nil
            return half
        }
        let next = nextUInt64()
        spareHalf = UInt32(truncatingIfNeeded: next >> 32)
        return UInt32(truncatingIfNeeded: next)
    }

    /// `Generator.uniform(low, high)`: low + (high − low) · u, u from the top 53 bits of an output.
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * (Double(nextUInt64() >> 11) * (1.0 / 9_007_199_254_740_992.0))
    }

    /// `Generator.permutation(count)`: a Fisher–Yates shuffle of 0..<count from the last element down, each swap
    /// partner drawn by masked rejection.
    mutating func permutation(_ count: Int) -> [Int] {
        var values = Array(0..<count)
        for i in stride(from: count - 1, through: 1, by: -1) {
            values.swapAt(i, Int(interval(UInt64(i))))
        }
        return values
    }

    /// A value in 0...max: the bits below max's highest one, redrawn until they do not exceed it.
    private mutating func interval(_ max: UInt64) -> UInt64 {
        var mask = max
        for shift in [1, 2, 4, 8, 16, 32] { mask |= mask >> UInt64(shift) }
        while true {
            let value = max <= UInt64(UInt32.max) ? UInt64(nextUInt32()) & mask : nextUInt64() & mask
            if value <= max { return value }
        }
    }

    /// `SeedSequence(entropy).generate_state(words, uint32)`: a pool of four words hashed from the entropy, then
    /// hashed out into the state.
    private static func seedSequenceState(entropy: UInt32, words: Int) -> [UInt32] {
        var hashConstant: UInt32 = 0x43B0_D7E5
        func hashmix(_ value: UInt32) -> UInt32 {
            var value = value ^ hashConstant
            hashConstant &*= 0x931E_8875
            value &*= hashConstant
            return value ^ value >> 16
        }
        func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
            let result = 0xCA01_F9DD &* x &- 0x4973_F715 &* y
            return result ^ result >> 16
        }
        var pool = (0..<4).map { hashmix($0 == 0 ? entropy : 0) }
        for source in 0..<4 {
            for target in 0..<4 where source != target {
                pool[target] = mix(pool[target], hashmix(pool[source]))
            }
        }
        var constant: UInt32 = 0x8B51_F9DD
        return (0..<words).map { i in
            var value = pool[i % 4] ^ constant
            constant &*= 0x58F3_8DED
            value &*= constant
            return value ^ value >> 16
        }
    }
}
