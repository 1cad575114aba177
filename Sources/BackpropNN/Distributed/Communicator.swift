import BackpropCore

/// The processes that train one model together, data-parallel: how many there are, which one this is, and the two
/// collective operations training needs.
///
/// Every process runs the same program on its own share of each batch; the trainer adds the processes' gradients with
/// ``sum(_:)-(UnsafeMutableBufferPointer<Float>)`` so that each applies the same update. ``MPICommunicator`` is the
/// implementation over MPI (processes on one machine or many); a world of one process is not distributed at all.
public protocol Communicator: Sendable {
    /// This process's number, from 0.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }

    /// Replaces each element of `buffer` with its sum over all processes. Every process receives the same sums.
    func sum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces each element of `buffer` with its sum over all processes. Every process receives the same sums.
    func sum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Replaces `bytes` on every process with process `root`'s.
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, from root: Int) throws
}

extension Communicator {
    /// Sums `buffer` over all processes, for either element type.
    func sum<Scalar: TensorScalar>(scalars buffer: UnsafeMutableBufferPointer<Scalar>) throws {
        if Scalar.self == Float.self {
            try sum(UnsafeMutableBufferPointer(start: UnsafeMutableRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: Float.self),
                                               count: buffer.count))
        } else {
            try sum(UnsafeMutableBufferPointer(start: UnsafeMutableRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: Double.self),
                                               count: buffer.count))
        }
    }

    /// Replaces `tensor`'s elements on every process with process `root`'s (the shapes must agree).
    func broadcast<Scalar: TensorScalar>(_ tensor: inout Tensor<Scalar>, from root: Int) throws {
        let count = tensor.count
        try tensor.withUnsafeMutablePointer { pointer in
            try broadcast(UnsafeMutableRawBufferPointer(start: pointer, count: count * MemoryLayout<Scalar>.stride), from: root)
        }
    }
}
