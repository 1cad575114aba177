import BackpropCore

// Data-parallel training: each process computes the gradients of its share of the global batch, and one sum over
// the processes turns them into the global batch's mean gradient on every process.
extension TrainingSession {
    /// Whether this session trains together with other processes.
    var isDistributed: Bool { communicator != nil }

    /// Makes every process start from the root's (rank 0's) weights, state and optimizer state, so that a process
    /// that built or read them differently cannot drift from the others.
    mutating func synchronizeWithRoot() throws {
        guard let communicator else { return }
        for i in parameters.indices { try communicator.broadcast(&parameters[i], from: 0) }
        for i in state.indices { try communicator.broadcast(&state[i], from: 0) }
        for i in states.indices {
            for j in states[i].tensors.indices { try communicator.broadcast(&states[i].tensors[j], from: 0) }
        }
        // Separate storage: the spare buffers each update writes into.
        lastFiniteParameters = parameters.map { $0 + 0 }
    }

    /// This process's share of batch `index` of an epoch in `order`: `batchSize` samples at `rank × batchSize`
    /// within the global batch of `batchSize × size` (possibly none in the last batch).
    func share(ofBatch index: Int, in order: [Int]) -> ArraySlice<Int> {
        let rank = communicator?.rank ?? 0, size = communicator?.size ?? 1
        let globalEnd = Swift.min((index + 1) * trainer.batchSize * size, order.count)
        let start = Swift.min(index * trainer.batchSize * size + rank * trainer.batchSize, globalEnd)
        return order[start..<Swift.min(start + trainer.batchSize, globalEnd)]
    }

    /// The number of batches of an epoch over `count` samples: global batches when distributed.
    func batchCount(samples count: Int) -> Int {
        let global = trainer.batchSize * (communicator?.size ?? 1)
        return (count + global - 1) / global
    }

    /// Sums this process's step over all processes and leaves the global batch's mean gradient in ``gradients`` (and
    /// its norms in ``gradientNorms``) and the processes' mean batch-norm statistics in ``state``: one sum of a flat
    /// buffer of every gradient (scaled by this process's sample count) and state tensor, and one of five numbers.
    ///
    /// - Returns: the global batch's mean loss, its correct predictions and samples, and whether any process asked
    ///   to stop.
    mutating func reduceStep(loss: Double, correct: Int, samples: Int, stopRequested: Bool) throws
    -> (loss: Double, correct: Int, samples: Int, stop: Bool) {
        guard let communicator else { return (loss, correct, samples, stopRequested) }
        let weight = Model.Scalar(samples)
        let trained: Model.Scalar = samples > 0 ? 1 : 0
        var offset = 0
        reductionBuffer.withUnsafeMutableBufferPointer { buffer in
            for i in gradients.indices {
                gradients[i].copyElements(scaledBy: samples > 0 ? weight : 0, to: buffer.baseAddress! + offset)
                offset += gradients[i].count
            }
            for i in state.indices {
                state[i].copyElements(scaledBy: trained, to: buffer.baseAddress! + offset)
                offset += state[i].count
            }
        }
        reductionNumbers[0] = samples > 0 ? loss * Double(samples) : 0
        reductionNumbers[1] = Double(correct)
        reductionNumbers[2] = Double(samples)
        reductionNumbers[3] = samples > 0 ? 1 : 0
        reductionNumbers[4] = stopRequested ? 1 : 0
        let clock = ContinuousClock()
        let started = clock.now
        try reductionBuffer.withUnsafeMutableBufferPointer { try communicator.sum(scalars: $0) }
        try reductionNumbers.withUnsafeMutableBufferPointer { try communicator.sum($0) }
        let elapsed = (clock.now - started).components
        communicationSeconds += Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        let numbers = reductionNumbers
        let total = numbers[2], processesWithSamples = numbers[3]
        offset = 0
        reductionBuffer.withUnsafeBufferPointer { buffer in
            let scale = 1 / Model.Scalar(Swift.max(total, 1))
            for i in gradients.indices {
                gradients[i].assignElements(from: buffer.baseAddress! + offset, scaledBy: scale)
                gradientNorms[i] = Double(gradients[i].norm)
                offset += gradients[i].count
            }
            let stateScale = 1 / Model.Scalar(Swift.max(processesWithSamples, 1))
            for i in state.indices {
                state[i].assignElements(from: buffer.baseAddress! + offset, scaledBy: stateScale)
                offset += state[i].count
            }
        }
        return (numbers[0] / Swift.max(total, 1), Int(numbers[1]), Int(total), numbers[4] > 0)
    }

    /// The dropout masks of batch `index` of `epoch` on this process: a stream of its own for every (epoch, batch,
    /// process), so that no process needs another's generator, and a checkpoint holds no state per process.
    func dropoutGenerator(epoch: Int, batch index: Int) -> SeededGenerator {
        SeededGenerator(seed: trainer.seed ^ 0xD1B5_4A32_D192_ED03,
                        stream: [UInt64(epoch), UInt64(index), UInt64(communicator?.rank ?? 0)])
    }

    /// Sets every gradient to zero (a process whose share of the last batch is empty).
    mutating func zeroGradients() {
        for i in gradients.indices {
            let count = gradients[i].count
            gradients[i].withUnsafeMutablePointer { $0.update(repeating: 0, count: count) }
            gradientNorms[i] = 0
        }
    }
}
