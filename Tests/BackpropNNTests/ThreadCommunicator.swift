import BackpropNN
import Foundation

/// `size` "processes" as threads of this process, for testing data-parallel training without MPI: each collective
/// waits for every member, and every member adds the buffers in rank order, so all get the same sums.
final class ThreadGroup: @unchecked Sendable {
    // @unchecked: every field is read and written under `condition`, except the buffers' contents, which a member
    // reads only between two barriers during which their owners do not write them.
    let size: Int
    private let condition = NSCondition()
    private var pointers: [UnsafeMutableRawPointer?]
    private var arrived = 0
    private var generation = 0

    init(size: Int) {
        self.size = size
        pointers = Array(repeating: nil, count: size)
    }

    /// The member of rank `rank`.
    func member(_ rank: Int) -> Member { Member(group: self, rank: rank) }

    /// Blocks until every member has called it.
    func barrier() {
        condition.lock()
        defer { condition.unlock() }
        let current = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == current { condition.wait() }
        }
    }

    func publish(_ pointer: UnsafeMutableRawPointer?, rank: Int) {
        condition.lock()
        pointers[rank] = pointer
        condition.unlock()
    }

    func pointer(of rank: Int) -> UnsafeMutableRawPointer? {
        condition.lock()
        defer { condition.unlock() }
        return pointers[rank]
    }

    struct Member: Communicator {
        let group: ThreadGroup
        let rank: Int
        var size: Int { group.size }

        func sum(_ buffer: UnsafeMutableBufferPointer<Float>) throws { add(buffer) }
        func sum(_ buffer: UnsafeMutableBufferPointer<Double>) throws { add(buffer) }

        private func add<T: BinaryFloatingPoint>(_ buffer: UnsafeMutableBufferPointer<T>) {
            group.publish(UnsafeMutableRawPointer(buffer.baseAddress), rank: rank)
            group.barrier()
            var total = [T](repeating: 0, count: buffer.count)
            for other in 0..<group.size {
                let values = group.pointer(of: other)!.assumingMemoryBound(to: T.self)
                for k in total.indices { total[k] += values[k] }
            }
            group.barrier()
            for k in total.indices { buffer[k] = total[k] }
        }

        func broadcast(_ bytes: UnsafeMutableRawBufferPointer, from root: Int) throws {
            group.publish(bytes.baseAddress, rank: rank)
            group.barrier()
            if rank != root, bytes.count > 0 { bytes.baseAddress!.copyMemory(from: group.pointer(of: root)!, byteCount: bytes.count) }
            group.barrier()
        }
    }
}

/// Runs `body` once per rank of a group of `size`, each on its own thread, and returns the results in rank order.
func runRanks<T: Sendable>(_ size: Int, _ body: @escaping @Sendable (ThreadGroup.Member) throws -> T) throws -> [T] {
    let group = ThreadGroup(size: size)
    let results = ResultBox<T>(size: size)
    let threads = (0..<size).map { rank in
        Thread {
            results.set(rank, Result { try body(group.member(rank)) })
        }
    }
    threads.forEach { $0.stackSize = 8 << 20; $0.start() }
    while !results.complete { usleep(1000) }
    return try results.values.map { try $0!.get() }
}

final class ResultBox<T: Sendable>: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var slots: [Result<T, any Error>?]

    init(size: Int) { slots = Array(repeating: nil, count: size) }

    func set(_ rank: Int, _ result: Result<T, any Error>) {
        lock.lock()
        slots[rank] = result
        lock.unlock()
    }

    var complete: Bool {
        lock.lock()
        defer { lock.unlock() }
        return slots.allSatisfy { $0 != nil }
    }

    var values: [Result<T, any Error>?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}
