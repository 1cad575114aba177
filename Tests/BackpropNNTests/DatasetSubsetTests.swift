import BackpropCore
import BackpropData
import BackpropNN
import BackpropTestSupport
import Testing

/// A subset's batches are its base's rows, whichever way they are drawn.
@Suite("Dataset subsets")
struct DatasetSubsetTests {
    static let indices = [7, 0, 19, 3, 3, 12, 5, 18, 1]

    @Test func classesOfAnInMemoryDataset() throws {
        var g = SeededGenerator(seed: 3)
        let base = try InMemoryDataset(features: Tensor<Float>.uniform(shape: [20, 6], using: &g),
                                       labels: (0..<20).map { $0 % 4 }, classCount: 4)
        try check(base)
    }

    @Test func valuesOfAnInMemoryDataset() throws {
        var g = SeededGenerator(seed: 4)
        let base = try InMemoryDataset(features: Tensor<Float>.uniform(shape: [20, 3], using: &g),
                                       values: Tensor<Float>.uniform(shape: [20, 2], using: &g))
        try check(base)
    }

    @Test func imagesStoredAsBytes() throws {
        let base = try ImageDataset<Float>(pixels: (0..<(20 * 12)).map { UInt8($0 % 251) }, imageShape: [3, 4],
                                           labels: (0..<20).map { $0 % 3 }, classCount: 3, source: "test")
        try check(base)
    }

    /// Rows drawn through `fill` (batch after batch, of two sizes, with prefetches in between) and through
    /// `batch(at:)` equal the base's rows at the mapped indices.
    private func check(_ base: some TrainingData<Float>) throws {
        let subset = DatasetSubset(base, indices: Self.indices)
        #expect(subset.count == Self.indices.count && subset.featureCount == base.featureCount)
        #expect(subset.classCount == base.classCount)
        var batch = TrainingBatch<Float>()
        for rows in [[0, 1, 2, 3], [8, 4, 4, 6], [5, 7, 2]] {
            subset.prefetch(at: rows[...])
            subset.fill(&batch, at: rows[...])
            let expected = base.batch(at: rows.map { Self.indices[$0] })
            #expect(batch.inputs == expected.inputs, "rows \(rows)")
            #expect(Self.same(batch.targets, expected.targets), "rows \(rows)")
            let drawn = subset.batch(at: rows)
            #expect(drawn.inputs == expected.inputs && Self.same(drawn.targets, expected.targets), "rows \(rows)")
        }
    }

    private static func same(_ a: Targets<Float>, _ b: Targets<Float>) -> Bool {
        switch (a, b) {
        case (.classes(let x), .classes(let y)): x == y
        case (.values(let x), .values(let y)): x == y
        default: false
        }
    }
}
