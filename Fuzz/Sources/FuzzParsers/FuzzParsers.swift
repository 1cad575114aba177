import BackpropData

#if canImport(Glibc)
import Glibc
#endif

/// The parser under test, from `BACKPROP_FUZZ_TARGET` (idx, csv, safetensors, gzip).
let target: String = getenv("BACKPROP_FUZZ_TARGET").map { String(cString: $0) } ?? "idx"

/// libFuzzer entry point: every parser must return a value or throw a descriptive error for any bytes; a trap, an
/// out-of-bounds access (AddressSanitizer), a leak or a hang is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch target {
    case "idx":
        _ = try? IDXArray(bytes: bytes, file: "fuzz.idx")
    case "csv":
        if let table = try? CSVTable(bytes: bytes, file: "fuzz.csv") {
            // Read as training data (every column role and missing-value policy), and as a model's input.
            for missing in TabularOptions.MissingValues.allCases {
                if let data = try? TabularData(fitting: table, file: "fuzz.csv", options: TabularOptions(missing: missing)) {
                    _ = try? TabularData(table: table, file: "fuzz.csv", model: (data.columns, data.labelName.map(ColumnReference.name), data.ignoredNames),
                                         options: TabularOptions())
                }
            }
        }
    case "safetensors":
        _ = try? SavedModel<Float>.decode(bytes, file: "fuzz.safetensors")
    default:
        _ = try? Gzip.decompress(bytes, file: "fuzz.gz", limit: 1 << 24)
    }
    return 0
}

/// libFuzzer's driver, started from the executable's entry point (SwiftPM names it `<target>_main`).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32) -> Int32

@_cdecl("FuzzParsers_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { fuzz($0, $1) }
}
