import BackpropData
import BackpropNN
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The parser under test, from `BACKPROP_FUZZ_TARGET` (idx, csv, safetensors, onnx, checkpoint, architecture, gzip).
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
    case "onnx":
        // An imported model is exported again: both directions must cope with whatever the importer accepts.
        if let result = try? ONNXImport.decode(bytes, file: "fuzz.onnx") {
            _ = try? ONNXExport.model(result.saved, producerVersion: "fuzz").encoded()
        }
    case "checkpoint":
        _ = try? CheckpointFile<Float>.decode(bytes, file: "fuzz.safetensors")
    case "architecture":
        // The JSON a model file's metadata holds: the layers (checked without building them) and the description.
        let decoder = JSONDecoder()
        if let architecture = try? decoder.decode(ModelArchitecture.self, from: Data(bytes)),
           let plan = try? architecture.plan(file: "fuzz"),
           (plan.parameters + plan.state).reduce(0, { $0 + $1.shape.reduce(1, *) }) <= 1 << 16,
           let model: Sequential<Float> = try? architecture.build(
               file: "fuzz", parameters: plan.parameters.map { .zeros(shape: $0.shape) },
               state: plan.state.map { .zeros(shape: $0.shape) }) {
            _ = ModelInfo.fuzzDescription.inconsistency(with: model)
        }
        if let info = try? decoder.decode(ModelInfo.self, from: Data(bytes)) {
            _ = info.inconsistency(with: ModelInfo.fuzzModel)
        }
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

extension ModelInfo {
    /// A description and a model for checking fuzzed counterparts against.
    static let fuzzDescription = ModelInfo(task: .classification, classNames: ["a", "b"], featureNames: nil, preprocessing: .none,
                                           loss: .softmaxCrossEntropy, labelColumn: nil, training: nil)
    static let fuzzModel = Sequential<Float>.multilayerPerceptron(sizes: [2, 3, 2], activation: .relu, seed: 1)
}
