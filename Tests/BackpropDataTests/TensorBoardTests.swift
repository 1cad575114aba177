@testable import BackpropData
import BackpropCore
import BackpropNN
import BackpropTestSupport
import Foundation
import Testing

@Suite("TensorBoard event files")
struct TensorBoardTests {
    /// CRC-32C's check value (RFC 3720 appendix B.4: "123456789" → E3069283).
    @Test func crc32cMatchesItsCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }

    @Test func histogramsCountEveryValueOnce() {
        let values: [Double] = [-1, -0.5, 0, 0, 0.25, 1, 3]
        let histogram = TensorBoardEventFile.Histogram(values, buckets: 4)
        #expect(histogram.minimum == -1 && histogram.maximum == 3 && histogram.count == 7)
        #expect(histogram.bucketLimits == [0, 1, 2, 3])
        // (−∞, 0]: −1, −0.5, 0, 0; (0, 1]: 0.25, 1; (1, 2]: none; (2, 3]: 3.
        #expect(histogram.bucketCounts == [4, 2, 0, 1])
        #expect(histogram.sum == 2.75 && histogram.sumOfSquares == 11.3125)
        let constant = TensorBoardEventFile.Histogram([2.0, 2, 2], buckets: 5)
        #expect(constant.bucketLimits == [2] && constant.bucketCounts == [3])
    }

    /// Training writes one framed record per epoch after the header, each with valid checksums.
    @Test func trainingWritesOneRecordPerEpoch() throws {
        let directory = CommandRunner.temporaryDirectory("tensorboard") + "/run"
        let data: InMemoryDataset<Float> = BuiltinDataset.moons.make(count: 64, seed: 1)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(), batchSize: 16, epochs: 3, seed: 1)
        _ = try trainer.fit(Sequential<Float>.multilayerPerceptron(sizes: [2, 4, 2], activation: .relu, seed: 1), on: data,
                            callbacks: [TensorBoardLogger(directory: directory)])
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(files.count == 1 && files[0].hasPrefix("events.out.tfevents."))
        let bytes = try #require(FileManager.default.contents(atPath: directory + "/" + files[0])).map { $0 }
        var offset = 0, records = 0
        func word<T: FixedWidthInteger>(_ type: T.Type, at position: Int) -> T {
            bytes[position..<(position + MemoryLayout<T>.size)].reversed().reduce(0) { $0 << 8 | T($1) }
        }
        while offset < bytes.count {
            let length = Int(word(UInt64.self, at: offset))
            #expect(word(UInt32.self, at: offset + 8) == CRC32C.masked(bytes[offset..<(offset + 8)]))
            let body = bytes[(offset + 12)..<(offset + 12 + length)]
            #expect(word(UInt32.self, at: offset + 12 + length) == CRC32C.masked(body))
            offset += 16 + length
            records += 1
        }
        #expect(offset == bytes.count && records == 4)
    }
}
