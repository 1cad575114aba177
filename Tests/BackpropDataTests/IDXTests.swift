import BackpropCore
import BackpropData
import BackpropNN
import BackpropTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("IDX files")
struct IDXTests {
    static func header(_ dims: [UInt32]) -> [UInt8] {
        [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in [24, 16, 8, 0].map { UInt8((d >> $0) & 0xFF) } }
    }

    @Test func parsesAValidFile() throws {
        let array = try IDXArray(bytes: Self.header([2, 3]) + [1, 2, 3, 4, 5, 6], file: "ok.idx")
        #expect(array.shape == [2, 3])
        #expect(array.bytes == [1, 2, 3, 4, 5, 6])
    }

    @Test func rejectsMalformedFilesWithTheReason() {
        func reason(_ bytes: [UInt8]) -> String {
            do {
                _ = try IDXArray(bytes: bytes, file: "bad.idx")
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(reason([0, 0]).contains("too short"))
        #expect(reason([1, 0, 8, 1, 0, 0, 0, 0]).contains("not an IDX file"))
        #expect(reason([0, 0, 0x0D, 1, 0, 0, 0, 0]).contains("element type 0xd"))
        #expect(reason([0, 0, 8, 0]).contains("zero dimensions"))
        #expect(reason([0, 0, 8, 3, 0, 0, 0, 1]).contains("needs 16 bytes"))
        // Dimensions claiming 2³² × 2³² elements are rejected against the real size, before any allocation.
        #expect(reason(Self.header([0xFFFF_FFFF, 0xFFFF_FFFF]) + [1, 2]).contains("need more data"))
        #expect(reason(Self.header([2, 3]) + [1, 2, 3]).contains("dimensions [2, 3] need more data than the 3 bytes present"))
        #expect(reason(Self.header([2]) + [1, 2, 3]).contains("need 2 bytes of data, the file has 3"))
    }

    @Test func readsGzipAndRawFilesAndReportsDamage() throws {
        let directory = "/tmp/backprop-idx-\(getpid())"
        mkdir(directory, 0o755)
        defer { _ = system_rm(directory) }
        let raw = Self.header([3]) + [7, 8, 9]
        let rawPath = directory + "/labels.idx"
        CommandRunner.writeBytes(raw, to: rawPath)
        #expect(try IDXArray(contentsOf: rawPath).bytes == [7, 8, 9])
        // gzip of the same bytes, made by the system's gzip.
        #expect(system_gzip(rawPath) == 0)
        #expect(try IDXArray(contentsOf: rawPath + ".gz").bytes == [7, 8, 9])
        // Truncating the compressed stream is a descriptive error, not a crash.
        let compressed = try #require(CommandRunner.readBytes(rawPath + ".gz"))
        CommandRunner.writeBytes(Array(compressed.prefix(compressed.count - 10)), to: directory + "/cut.gz")
        #expect(throws: DataError.self) { try IDXArray(contentsOf: directory + "/cut.gz") }
        #expect(throws: DataError.unreadable(directory + "/absent", reason: "No such file or directory")) {
            try IDXArray(contentsOf: directory + "/absent")
        }
    }
}

@Suite("Built-in datasets")
struct BuiltinDatasetTests {
    @Test(arguments: BuiltinDataset.allCases)
    func isSeededAndWellFormed(_ dataset: BuiltinDataset) {
        let a: BackpropNN.InMemoryDataset<Double> = dataset.make(count: 60, seed: 3)
        let b: BackpropNN.InMemoryDataset<Double> = dataset.make(count: 60, seed: 3)
        let c: BackpropNN.InMemoryDataset<Double> = dataset.make(count: 60, seed: 4)
        #expect(a.features == b.features)
        #expect(a.features != c.features)
        #expect(a.count == 60)
        #expect(a.features.isFinite)
        #expect(BuiltinDataset(name: "builtin:\(dataset.rawValue)") == dataset)
        if dataset == .sine {
            #expect(a.classCount == nil)
        } else {
            let labels = a.targets.classIndices
            #expect(Set(labels).count == a.classCount)
        }
    }
}

func system_gzip(_ path: String) -> Int32 { CommandRunner.run(["/bin/gzip", "-k", "-f", path], in: "/tmp").status }
func system_rm(_ path: String) -> Int32 { CommandRunner.run(["/bin/rm", "-rf", path], in: "/tmp").status }
