import BackpropCore
import BackpropNN

/// After distributed training, every process's weights must be the same bits: each process hashes its tensors,
/// the hashes are gathered with one sum (each process fills its own slots), and a difference is an error.
enum ParameterAgreement {
    /// The line printed when every process holds the same tensors.
    static func check(_ tensors: [Tensor<Float>], across world: any Communicator) throws -> String {
        let hash = fingerprint(tensors)
        // Two 32-bit halves per process: each is exact in a Double, so the sum only places them.
        var slots = [Double](repeating: 0, count: 2 * world.size)
        slots[2 * world.rank] = Double(hash >> 32)
        slots[2 * world.rank + 1] = Double(hash & 0xFFFF_FFFF)
        try slots.withUnsafeMutableBufferPointer { try world.sum($0) }
        let hashes = (0..<world.size).map { UInt64(slots[2 * $0]) << 32 | UInt64(slots[2 * $0 + 1]) }
        guard let differing = hashes.firstIndex(where: { $0 != hashes[0] }) else {
            return "processes: the weights are identical on all \(world.size) (FNV-1a 0x\(String(hashes[0], radix: 16)))"
        }
        throw DistributedError.mismatch("process \(differing) ended with other weights than process 0 (FNV-1a 0x\(String(hashes[differing], radix: 16)) against 0x\(String(hashes[0], radix: 16)))")
    }

    /// FNV-1a over every element's bits, tensor after tensor.
    static func fingerprint(_ tensors: [Tensor<Float>]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for tensor in tensors {
            for value in tensor.scalars {
                var bits = value.bitPattern
                for _ in 0..<4 {
                    hash = (hash ^ UInt64(bits & 0xFF)) &* 0x0000_0100_0000_01B3
                    bits >>= 8
                }
            }
        }
        return hash
    }
}
