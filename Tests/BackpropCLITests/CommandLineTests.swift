import BackpropTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The built `backprop` tool, run as a user would.
@Suite("backprop command line", .serialized)
struct CommandLineTests {
    let tool = CommandRunner.backprop

    func run(_ arguments: String..., in directory: String) -> CommandResult {
        CommandRunner.run([tool] + arguments, in: directory)
    }

    /// A small CSV: two features, string labels, a header, the label in the first column.
    static func writeCSV(to path: String, rows: Int = 80) {
        var lines = ["kind,width,height"]
        for i in 0..<rows {
            let big = i % 2 == 0
            let w = (big ? 3.0 : 1.0) + Double(i % 7) * 0.1
            let h = (big ? 2.5 : 0.5) + Double(i % 5) * 0.1
            lines.append("\(big ? "large" : "small"),\(w),\(h)")
        }
        CommandRunner.writeText(lines.joined(separator: "\r\n") + "\r\n", to: path)
    }

    @Test func csvTrainEvaluatePredictInspect() throws {
        let dir = CommandRunner.temporaryDirectory("cli-csv")
        Self.writeCSV(to: dir + "/shapes.csv")
        let train = run("train", "--data", "shapes.csv", "--label-column", "kind", "--layers", "8", "--epochs", "40",
                        "--learning-rate", "0.01", "--output", "shapes.safetensors", "--metrics", "metrics.csv", "--plot", "curves.svg", in: dir)
        #expect(train.status == 0, "\(train.errorOutput)")
        #expect(train.output.contains("2 classes"))
        let metrics = CommandRunner.readText(dir + "/metrics.csv").split(separator: "\n")
        #expect(metrics.first == "epoch,seconds,train_loss,train_accuracy,validation_loss,validation_accuracy,test_loss,test_accuracy,learning_rate")
        #expect(metrics.count == 41)
        let svg = CommandRunner.readText(dir + "/curves.svg")
        #expect(svg.hasPrefix("<svg") && svg.contains("Loss per epoch") && svg.contains("Accuracy per epoch"))

        let evaluate = run("evaluate", "--model", "shapes.safetensors", "--data", "shapes.csv", "--json", in: dir)
        #expect(evaluate.status == 0, "\(evaluate.errorOutput)")
        #expect(evaluate.output.contains("\"samples\": 80"))
        #expect(evaluate.output.contains("\"accuracy\": 1.0"))
        #expect(evaluate.output.contains("\"classes\": [\"large\",\"small\"]"))

        let predict = run("predict", "--model", "shapes.safetensors", "--data", "shapes.csv", "--output", "p.csv", in: dir)
        #expect(predict.status == 0, "\(predict.errorOutput)")
        let predictions = CommandRunner.readText(dir + "/p.csv").split(separator: "\n")
        #expect(predictions.first == "row,prediction")
        #expect(predictions[1] == "0,large" && predictions[2] == "1,small")

        // New, unlabelled data: just the feature columns.
        CommandRunner.writeText("width,height\n3.2,2.6\n1.1,0.6\n", to: dir + "/new.csv")
        let fresh = run("predict", "--model", "shapes.safetensors", "--data", "new.csv", "--probabilities", in: dir)
        #expect(fresh.status == 0, "\(fresh.errorOutput)")
        #expect(fresh.output.hasPrefix("row,prediction,p_large,p_small\n0,large,") && fresh.output.contains("\n1,small,"), "\(fresh.output)")
        let noLabels = run("evaluate", "--model", "shapes.safetensors", "--data", "new.csv", in: dir)
        #expect(noLabels.status == 1 && noLabels.errorOutput.contains("has no label column"))

        let inspect = run("inspect", "--model", "shapes.safetensors", in: dir)
        #expect(inspect.status == 0)
        #expect(inspect.output.contains("Dense(2 → 8)"))
        #expect(inspect.output.contains("columns:\n  width: number\n  height: number\n"), "\(inspect.output)")
        #expect(inspect.output.contains("label column: kind"))
        #expect(inspect.output.contains("standardize 2 features"))
        #expect(inspect.output.contains("classes: large, small"))
    }

    /// `backprop info` names the kernels that run: the matrix-product backend and the element-wise kernels'
    /// instruction set.
    /// `--schedule` changes the learning rate epoch by epoch as the library's schedules do, and a resumed run must
    /// keep it (a cosine schedule spans --epochs, so raising them is refused with it).
    @Test func learningRateSchedules() throws {
        let dir = CommandRunner.temporaryDirectory("cli-schedule")
        let cosine = run("train", "--epochs", "4", "--layers", "8", "--schedule", "cosine", "--metrics", "m.csv", "--quiet", in: dir)
        #expect(cosine.status == 0, "\(cosine.errorOutput)")
        func learningRates(_ file: String) throws -> [Double] {
            let lines = CommandRunner.readText(dir + "/" + file).split(separator: "\n")
            let header = try #require(lines.first).split(separator: ",", omittingEmptySubsequences: false)
            let column = try #require(header.firstIndex(of: "learning_rate"))
            return lines.dropFirst().map { Double($0.split(separator: ",", omittingEmptySubsequences: false)[column]) ?? .nan }
        }
        let rates = try learningRates("m.csv")
        #expect(rates.count == 4 && rates[0] == 0.001 && zip(rates, rates.dropFirst()).allSatisfy { $0 > $1 }, "\(rates)")
        let step = run("train", "--epochs", "4", "--layers", "8", "--schedule", "step:2:0.5", "--metrics", "s.csv", "--quiet", in: dir)
        #expect(step.status == 0)
        #expect(try learningRates("s.csv") == [0.001, 0.001, 0.0005, 0.0005])
        let bad = run("train", "--schedule", "cosine:3", in: dir)
        #expect(bad.status == 2 && bad.errorOutput.contains("--schedule must be constant, cosine"))
        let part = run("train", "--epochs", "2", "--layers", "8", "--schedule", "cosine", "--checkpoint", "c.st", "--checkpoint-every", "1", "--quiet", in: dir)
        #expect(part.status == 0)
        let more = run("train", "--epochs", "3", "--layers", "8", "--schedule", "cosine", "--resume", "c.st", "--quiet", in: dir)
        #expect(more.status == 1 && more.errorOutput.contains("--schedule cosine:2 (now cosine:3)"), "\(more.errorOutput)")
    }

    @Test func infoNamesTheKernels() {
        let info = run("info", in: CommandRunner.temporaryDirectory("cli-info"))
        #expect(info.status == 0)
        let lines = info.output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("backprop ") == true)
        #expect(lines.contains { $0.hasPrefix("kernels: ") })
        let elementwise = lines.first { $0.hasPrefix("element-wise kernels: ") }?.dropFirst("element-wise kernels: ".count)
        #expect(elementwise.map { ["AVX-512", "AVX2", "SSE2", "baseline"].contains(String($0)) } == true, "\(info.output)")
    }

    /// `--validation-split` trains on the rest of the rows and evaluates the held-out ones after every epoch.
    @Test func validationSplitHoldsOutRows() throws {
        let dir = CommandRunner.temporaryDirectory("cli-split")
        Self.writeCSV(to: dir + "/shapes.csv")
        let train = run("train", "--data", "shapes.csv", "--label-column", "kind", "--layers", "8", "--epochs", "30",
                        "--learning-rate", "0.01", "--validation-split", "0.25", "--metrics", "metrics.csv", in: dir)
        #expect(train.status == 0, "\(train.errorOutput)")
        #expect(train.output.contains("60 samples, 2 features, 2 classes, 20 held out for validation"), "\(train.output)")
        let rows = CommandRunner.readText(dir + "/metrics.csv").split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.count == 31 && rows[0][5] == "validation_accuracy")
        #expect(rows.dropFirst().allSatisfy { Double($0[4]) != nil && Double($0[5]) != nil }, "validation columns: \(rows)")
        #expect(Double(rows.last![5]) == 1, "the two shapes separate cleanly; held-out accuracy \(rows.last![5])")

        let everything = run("train", "--data", "shapes.csv", "--label-column", "kind", "--validation-split", "1", in: dir)
        #expect(everything.status == 2 && everything.errorOutput.contains("--validation-split must be in [0, 1)"))
    }

    @Test func idxDirectoryAndRegression() throws {
        let dir = CommandRunner.temporaryDirectory("cli-idx")
        // 40 images of 2×2 pixels: class 1 is bright, class 0 dark.
        func header(_ dims: [Int]) -> [UInt8] {
            [0, 0, 8, UInt8(dims.count)] + dims.flatMap { (d: Int) -> [UInt8] in [24, 16, 8, 0].map { UInt8((d >> $0) & 0xFF) } }
        }
        let labels = (0..<40).map { UInt8($0 % 2) }
        let pixels: [UInt8] = labels.flatMap { (l: UInt8) -> [UInt8] in (0..<4).map { UInt8(l == 1 ? 200 + $0 : 20 + $0) } }
        for split in ["train", "t10k"] {
            CommandRunner.writeBytes(header([40, 2, 2]) + pixels, to: dir + "/\(split)-images-idx3-ubyte")
            CommandRunner.writeBytes(header([40]) + labels, to: dir + "/\(split)-labels-idx1-ubyte")
        }
        let train = run("train", "--data", dir, "--test-data", dir, "--layers", "16", "--epochs", "40", "--batch-size", "8", "--learning-rate", "0.01",
                        "--output", "images.safetensors", "--quiet", in: dir)
        #expect(train.status == 0, "\(train.errorOutput)")
        #expect(train.output.contains("test (\(dir)): loss"))
        let evaluate = run("evaluate", "--model", "images.safetensors", "--data", dir, in: dir)
        #expect(evaluate.output.contains("accuracy: 100.00%"), "\(evaluate.output)")

        let sine = run("train", "--data", "builtin:sine", "--layers", "16,16", "--activation", "tanh", "--epochs", "60", "--learning-rate", "0.01",
                       "--output", "sine.safetensors", "--quiet", in: dir)
        #expect(sine.status == 0, "\(sine.errorOutput)")
        let fit = run("evaluate", "--model", "sine.safetensors", "--data", "builtin:sine", "--json", in: dir)
        #expect(fit.output.contains("\"rmse\""), "\(fit.output)")
    }

    @Test func badInputIsOneClearLineAndTouchesNothing() throws {
        let dir = CommandRunner.temporaryDirectory("cli-bad")
        func expectFailure(_ arguments: [String], status: Int32, mentions: String) {
            let result = CommandRunner.run([tool] + arguments, in: dir)
            #expect(result.status == status, "\(arguments): status \(result.status), \(result.errorOutput)")
            #expect(result.errorOutput.contains(mentions), "\(arguments): \(result.errorOutput)")
            #expect(!result.errorOutput.contains("Fatal error") && !result.errorOutput.contains("Stack dump"))
        }
        expectFailure(["train", "--data", "missing.csv"], status: 1, mentions: "missing.csv does not exist")
        expectFailure(["train", "--data", "builtin:nope"], status: 1, mentions: "unknown built-in dataset")
        expectFailure(["train", "--epochs", "0"], status: 2, mentions: "--epochs must be positive")
        expectFailure(["train", "--optimizer", "lbfgs"], status: 2, mentions: "The value 'lbfgs' is invalid for '--optimizer <optimizer>': valid: sgd")
        expectFailure(["train", "--epochs", "many"], status: 2, mentions: "many")
        // A negative number reaches the range check (it is not taken for an option), and typos get a suggestion.
        expectFailure(["train", "--learning-rate", "-1"], status: 2, mentions: "--learning-rate must be a positive number, got -1.0")
        expectFailure(["train", "--weight-decay", "-0.5"], status: 2, mentions: "--weight-decay must be a finite number, 0 or more")
        expectFailure(["train", "--loss", "softmax-crossentropy"], status: 2, mentions: "did you mean 'softmax-cross-entropy'?")
        expectFailure(["train", "--optimizer", "adamm"], status: 2, mentions: "did you mean 'adam'?")
        expectFailure(["train", "--activation", "rleu"], status: 2, mentions: "did you mean 'relu'?")
        expectFailure(["train", "--missing", "maen"], status: 2, mentions: "did you mean 'mean'?")
        expectFailure(["train", "--data", "builtin:spiral"], status: 1, mentions: "did you mean 'builtin:spirals'?")
        expectFailure(["train", "--label", "x"], status: 1, mentions: "--label applies to CSV files, and builtin:spirals is not one")
        expectFailure(["explain", "--model", "m.st", "--input", "-0.5,1", "--target", "x"], status: 1, mentions: "m.st")

        CommandRunner.writeText("a,b,label\n1,2,x\n3,oops,y\n", to: dir + "/bad.csv")
        expectFailure(["train", "--data", "bad.csv", "--output", "never.safetensors"], status: 1,
                      mentions: "line 3, column 2 ('b'): 'oops' is not a finite number")
        #expect(access(dir + "/never.safetensors", F_OK) != 0)
        CommandRunner.writeText("a,b,label\n1,2,x\n3,4\n", to: dir + "/ragged.csv")
        expectFailure(["train", "--data", "ragged.csv"], status: 1, mentions: "line 3: 2 fields, expected 3")

        // A model trained on features width and height cannot evaluate data without them.
        Self.writeCSV(to: dir + "/two.csv")
        _ = run("train", "--data", "two.csv", "--label-column", "0", "--epochs", "2", "--output", "two.safetensors", "--quiet", in: dir)
        CommandRunner.writeText("kind,a,b,c\nlarge,1,2,3\n", to: dir + "/three.csv")
        expectFailure(["evaluate", "--model", "two.safetensors", "--data", "three.csv"], status: 1,
                      mentions: "three.csv has no column 'width', which the model needs (its columns: kind, a, b, c)")

        // An existing file that is not a model is never overwritten without --force.
        CommandRunner.writeText("precious", to: dir + "/notes.txt")
        expectFailure(["train", "--epochs", "1", "--output", "notes.txt"], status: 1, mentions: "is not a Backprop model")
        #expect(CommandRunner.readText(dir + "/notes.txt") == "precious")
        expectFailure(["inspect", "--model", "notes.txt"], status: 1, mentions: "notes.txt")
        let forced = run("train", "--epochs", "1", "--output", "notes.txt", "--force", "--quiet", in: dir)
        #expect(forced.status == 0)
        #expect(run("inspect", "--model", "notes.txt", in: dir).status == 0)
    }

    @Test func defaultRunTrainsSpiralsToHighAccuracy() {
        let dir = CommandRunner.temporaryDirectory("cli-default")
        let result = run("train", in: dir)
        #expect(result.status == 0)
        #expect(result.output.contains("data: builtin:spirals — 600 samples, 2 features, 2 classes"))
        let testLine = result.output.split(separator: "\n").first { $0.hasPrefix("test (builtin:spirals") } ?? ""
        let accuracy = Double(testLine.split(separator: " ").last?.dropLast() ?? "") ?? 0
        #expect(accuracy >= 99, "\(testLine)")
    }
}
