import BackpropTestSupport
import Foundation
import Testing

/// Every command that reads a model and data, over every pairing of models and data of other shapes, tasks and
/// classes: each run ends with status 0, 1 or 2 (never a signal), a failure is one `error:` line, and the pairs
/// that cannot work fail with status 1.
@Suite("Models on mismatched data", .serialized)
struct MismatchMatrixTests {
    let tool = CommandRunner.backprop
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    /// Writes a tiny IDX directory: 30 images of 2×2 pixels in 3 classes.
    static func writeImages(to directory: String) {
        mkdir(directory, 0o755)
        func header(_ dims: [Int]) -> [UInt8] {
            [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in [24, 16, 8, 0].map { UInt8((d >> $0) & 0xFF) } }
        }
        let labels = (0..<30).map { UInt8($0 % 3) }
        let pixels = labels.flatMap { label in (0..<4).map { UInt8(20 + 80 * Int(label) + $0) } }
        for split in ["train", "t10k"] {
            CommandRunner.writeBytes(header([30, 2, 2]) + pixels, to: directory + "/\(split)-images-idx3-ubyte")
            CommandRunner.writeBytes(header([30]) + labels, to: directory + "/\(split)-labels-idx1-ubyte")
        }
    }

    @Test func everyCommandOnEveryPairingFailsCleanly() {
        let dir = CommandRunner.temporaryDirectory("mismatch")
        Self.writeImages(to: dir + "/images")
        CommandRunner.writeText("", to: dir + "/empty.csv")
        CommandRunner.writeText("a,b,label\n", to: dir + "/header-only.csv")
        CommandRunner.writeText("x,y\n1,2\n3,4\n", to: dir + "/unlabelled-xy.csv")
        CommandRunner.writeText("x\n1\n2\n", to: dir + "/one-column.csv")
        let fixture = { (name: String) in Self.fixtures + "/" + name }
        let models: [(name: String, train: [String])] = [
            ("spirals", ["--data", "builtin:spirals"]),
            ("blobs", ["--data", "builtin:blobs"]),
            ("moons-bce", ["--data", "builtin:moons", "--loss", "binary-cross-entropy"]),
            ("moons-ce", ["--data", "builtin:moons", "--loss", "cross-entropy"]),
            ("sine", ["--data", "builtin:sine"]),
            ("images", ["--data", "images"]),
            ("iris", ["--data", fixture("iris-pandas-train.csv")]),
            ("diabetes", ["--data", fixture("diabetes-train.csv")]),
            ("climate", ["--data", fixture("climate-quoted.csv")]),
        ]
        for model in models {
            let trained = CommandRunner.run([tool, "train"] + model.train + ["--layers", "4", "--epochs", "1", "--output", model.name + ".st", "--quiet"],
                                            in: dir)
            #expect(trained.status == 0, "\(model.name): \(trained.errorOutput)")
        }
        let data = ["builtin:spirals", "builtin:blobs", "builtin:sine", "builtin:xor", "images", fixture("iris-pandas-test.csv"),
                    fixture("iris-new.csv"), fixture("diabetes-test.csv"), fixture("climate-quoted.csv"), "empty.csv",
                    "header-only.csv", "unlabelled-xy.csv", "one-column.csv", "missing.csv"]
        let commands: [[String]] = [["evaluate"], ["predict"], ["gradcheck", "--samples", "2", "--elements", "2"],
                                    ["gradients", "--output", "g.safetensors"], ["explain", "--row", "0"]]
        // Pairs that cannot work whatever the command (the model's data itself works with every command).
        let incompatible: Set<String> = [
            "spirals builtin:blobs", "spirals builtin:sine", "spirals images", "blobs builtin:sine", "blobs images",
            "moons-bce builtin:blobs", "moons-bce builtin:sine", "moons-bce images", "moons-ce builtin:blobs",
            "moons-ce builtin:sine", "moons-ce images", "sine builtin:spirals", "sine builtin:blobs", "sine builtin:xor",
            "sine images", "images builtin:spirals", "images builtin:blobs", "images builtin:sine", "images builtin:xor",
            "iris builtin:spirals", "iris builtin:blobs", "iris builtin:sine", "iris builtin:xor", "iris images",
            "diabetes builtin:spirals", "diabetes builtin:blobs", "diabetes builtin:xor", "diabetes images",
        ]
        var runs = 0
        for model in models {
            for source in data {
                for command in commands {
                    let arguments = [tool] + command + ["--model", model.name + ".st", "--data", source]
                    let result = CommandRunner.run(arguments, in: dir)
                    runs += 1
                    let label = "\(command[0]) \(model.name) \(source.split(separator: "/").last!)"
                    #expect([0, 1, 2].contains(result.status), "\(label): status \(result.status)\n\(result.errorOutput.prefix(600))")
                    if result.status != 0 {
                        let errors = result.errorOutput.split(separator: "\n").filter { !$0.hasPrefix("note: ") }
                        #expect(errors.first?.hasPrefix("error: ") == true || errors.first?.hasPrefix("Error: ") == true,
                                "\(label): \(result.errorOutput.prefix(600))")
                        #expect(result.status == 2 || errors.count == 1, "\(label): \(result.errorOutput.prefix(600))")
                    }
                    if incompatible.contains("\(model.name) \(source)") {
                        #expect(result.status == 1, "\(label) should fail: \(result.output.prefix(300))")
                    }
                }
            }
        }
        #expect(runs == models.count * data.count * commands.count)
    }

    /// `train` checks the test data before the first step: a test CSV without the label, of other classes or of
    /// another kind fails at once, and no model is written.
    @Test func trainChecksTestDataBeforeTraining() {
        let dir = CommandRunner.temporaryDirectory("mismatch-train")
        Self.writeImages(to: dir + "/images")
        CommandRunner.writeText("sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n5,3,1,0.2\n", to: dir + "/unlabelled.csv")
        let iris = Self.fixtures + "/iris-pandas-train.csv"
        let cases: [([String], String)] = [
            (["--data", iris, "--test-data", "unlabelled.csv"], "--test-data unlabelled.csv has no label column 'species'"),
            (["--data", "builtin:spirals", "--test-data", "builtin:blobs"], "sample 3 has class '2', which the model does not know"),
            (["--data", "builtin:spirals", "--test-data", "images"], "has class '2', which the model does not know"),
            (["--data", "builtin:sine", "--test-data", "builtin:spirals"], "has class labels, but the model predicts numbers"),
            (["--data", "images", "--test-data", iris], "the model was trained on images"),
            (["--data", "builtin:spirals", "--test-data", "builtin:sine"], "has numeric targets, but the model is a classifier"),
        ]
        for (arguments, message) in cases {
            let result = CommandRunner.run([tool, "train"] + arguments + ["--epochs", "200", "--output", "m.st"], in: dir)
            #expect(result.status == 1 && result.errorOutput.contains(message), "\(arguments): \(result.errorOutput)")
            #expect(!result.output.contains("epoch"), "\(arguments): trained before failing")
            #expect(access(dir + "/m.st", F_OK) != 0)
        }
    }

    /// Output paths are checked before training: a missing directory, a directory, two outputs on one file.
    @Test func outputPathsAreCheckedFirst() {
        let dir = CommandRunner.temporaryDirectory("mismatch-outputs")
        let cases: [([String], Int32, String)] = [
            (["--output", "nowhere/m.st"], 1, "cannot write nowhere/m.st: the directory nowhere does not exist (--output)"),
            (["--metrics", "."], 1, "cannot write .: it is a directory (--metrics needs a file name)"),
            (["--plot", "nowhere/p.svg"], 1, "the directory nowhere does not exist (--plot)"),
            (["--checkpoint", "nowhere/c.st", "--checkpoint-every", "1"], 1, "(--checkpoint)"),
            (["--output", "m.st", "--metrics", "m.st"], 2, "--output and --metrics name the same file, m.st"),
        ]
        for (arguments, status, message) in cases {
            let result = CommandRunner.run([tool, "train", "--epochs", "500"] + arguments, in: dir)
            #expect(result.status == status && result.errorOutput.contains(message), "\(arguments): \(result.errorOutput)")
            #expect(!result.output.contains("epoch"), "\(arguments): trained before failing")
        }
        let predict = CommandRunner.run([tool, "predict", "--model", "none.st", "--data", "builtin:xor", "--output", "nowhere/p.csv"], in: dir)
        #expect(predict.status == 1 && predict.errorOutput.contains("cannot write nowhere/p.csv"))
    }
}
