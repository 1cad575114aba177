import BackpropData
import BackpropTestSupport
import Foundation
import Testing

/// `backprop` on CSV files as real tools write them (`Fixtures/`, made by `make_fixtures.py` from scikit-learn's
/// iris and diabetes data): train, evaluate and predict on each, and check the numbers.
@Suite("Real-world CSV files", .serialized)
struct RealWorldCSVTests {
    let tool = CommandRunner.backprop
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    func run(_ arguments: [String], in directory: String) -> CommandResult {
        CommandRunner.run([tool] + arguments, in: directory)
    }

    func fixture(_ name: String) -> String { Self.fixtures + "/" + name }

    /// Trains on a fixture with a fixed recipe and returns the run and the test accuracy it printed.
    func train(_ arguments: [String], in dir: String) -> (CommandResult, Double?) {
        let result = run(["train"] + arguments + ["--layers", "16", "--epochs", "100", "--learning-rate", "0.01",
                                                  "--output", "m.safetensors", "--force"], in: dir)
        let testLine = result.output.split(separator: "\n").first { $0.hasPrefix("test (") }
        let accuracy = testLine.flatMap { Double($0.split(separator: " ").last!.dropLast()) }
        return (result, accuracy)
    }

    /// Fields of a JSON object line printed by `evaluate --json` (numbers only).
    func jsonNumbers(_ text: String) -> [String: Double] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return [:] }
        return object.compactMapValues { $0 as? Double }
    }

    /// pandas' `to_csv()`: an unnamed, shuffled index column is not a feature; the label is the last column.
    @Test func pandasExportWithItsIndex() {
        let dir = CommandRunner.temporaryDirectory("csv-pandas")
        let (result, accuracy) = train(["--data", fixture("iris-pandas-train.csv"), "--test-data", fixture("iris-pandas-test.csv")], in: dir)
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.errorOutput.contains("note: column 1 has no name and holds distinct whole numbers (a saved row index)"))
        #expect(result.errorOutput.contains("note: task: classification (3 classes in column 'species')"))
        #expect(result.output.contains("105 samples, 4 features, 3 classes"))
        #expect((accuracy ?? 0) >= 95, "test accuracy \(accuracy ?? -1)")
        let evaluate = run(["evaluate", "--model", "m.safetensors", "--data", fixture("iris-pandas-test.csv"), "--json"], in: dir)
        #expect(evaluate.status == 0, "\(evaluate.errorOutput)")
        #expect(jsonNumbers(evaluate.output)["samples"] == 45)
        #expect(Int((jsonNumbers(evaluate.output)["accuracy"] ?? 0) * 45 + 0.5) == Int(((accuracy ?? 0) * 45 / 100).rounded()))
    }

    /// A European spreadsheet: BOM, CRLF, semicolons, decimal commas and the label first (`--label`). The same
    /// model on pandas' comma file gives the same predictions as on this one.
    @Test func europeanSpreadsheetExport() {
        let dir = CommandRunner.temporaryDirectory("csv-excel")
        let (result, _) = train(["--data", fixture("iris-excel.csv"), "--label", "Species"], in: dir)
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.output.contains("105 samples, 4 features, 3 classes"), "\(result.output)")
        #expect(result.output.contains("training: loss") && result.output.contains("accuracy 9"), "\(result.output)")
        let european = run(["predict", "--model", "m.safetensors", "--data", fixture("iris-excel.csv")], in: dir)
        let comma = run(["predict", "--model", "m.safetensors", "--data", fixture("iris-pandas-train.csv"),
                         "--label", "species"], in: dir)
        #expect(european.status == 0 && comma.status == 0, "\(european.errorOutput) \(comma.errorOutput)")
        #expect(european.output.split(separator: "\n").count == 106)
        #expect(european.output == comma.output)
        // Without --label, the last column (numbers) would be a regression target: said, not silently done.
        let guessed = run(["train", "--data", fixture("iris-excel.csv"), "--epochs", "1", "--quiet"], in: dir)
        #expect(guessed.errorOutput.contains("task: regression (column 'petal width (cm)' holds numbers)"), "\(guessed.errorOutput)")
    }

    /// Tab-separated, the label in the middle under a conventional name (`class`).
    @Test func tabSeparatedWithTheLabelInTheMiddle() {
        let dir = CommandRunner.temporaryDirectory("csv-tab")
        let (result, _) = train(["--data", fixture("iris.tsv")], in: dir)
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.errorOutput.contains("3 classes in column 'class'"))
        let evaluate = run(["evaluate", "--model", "m.safetensors", "--data", fixture("iris.tsv"), "--json"], in: dir)
        #expect((jsonNumbers(evaluate.output)["accuracy"] ?? 0) >= 0.95, "\(evaluate.output)\(evaluate.errorOutput)")
    }

    /// New data without labels, columns in another order, an id column that `predict` copies into its output.
    @Test func predictionsForNewRowsKeepTheirIds() {
        let dir = CommandRunner.temporaryDirectory("csv-new")
        let (result, _) = train(["--data", fixture("iris-pandas-train.csv")], in: dir)
        #expect(result.status == 0, "\(result.errorOutput)")
        let predict = run(["predict", "--model", "m.safetensors", "--data", fixture("iris-new.csv"), "--id-column", "flower_id",
                           "--output", "p.csv"], in: dir)
        #expect(predict.status == 0, "\(predict.errorOutput)")
        let lines = CommandRunner.readText(dir + "/p.csv").split(separator: "\n")
        #expect(lines.first == "flower_id,prediction" && lines.count == 46)
        // The same rows with their labels, in pandas' column order: the same classes in the same order.
        let labelled = run(["predict", "--model", "m.safetensors", "--data", fixture("iris-pandas-test.csv")], in: dir)
        let classes = labelled.output.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[1] }
        #expect(lines.dropFirst().map { $0.split(separator: ",")[1] } == classes)
        #expect(lines[1].hasPrefix("f000,"))
        // Without --id-column the id is a column the model does not know.
        let unknown = run(["predict", "--model", "m.safetensors", "--data", fixture("iris-new.csv")], in: dir)
        #expect(unknown.status == 1 && unknown.errorOutput.contains("column 'flower_id' is not one of the model's features"))
    }

    /// Missing cells: an error that says how many and which flag fixes it; dropped; or filled with stored means.
    @Test func missingCells() throws {
        let dir = CommandRunner.temporaryDirectory("csv-missing")
        let refused = run(["train", "--data", fixture("iris-missing.csv"), "--output", "m.safetensors"], in: dir)
        #expect(refused.status == 1 && access(dir + "/m.safetensors", F_OK) != 0)
        #expect(refused.errorOutput.contains("21 missing values (the first at line 7, column 4 ('petal width (cm)'))"), "\(refused.errorOutput)")
        #expect(refused.errorOutput.contains("--missing drop") && refused.errorOutput.contains("--missing mean"))
        let (dropped, _) = train(["--data", fixture("iris-missing.csv"), "--missing", "drop"], in: dir)
        #expect(dropped.status == 0 && dropped.output.contains("87 samples"), "\(dropped.errorOutput)")
        let (filled, accuracy) = train(["--data", fixture("iris-missing.csv"), "--missing", "mean", "--test-data", fixture("iris-pandas-test.csv")],
                                       in: dir)
        #expect(filled.status == 0 && filled.output.contains("105 samples"), "\(filled.errorOutput)")
        #expect((accuracy ?? 0) >= 95)
        // The fills are stored: prediction on the file with holes fills them the same way.
        let saved = try SavedModel<Float>.read(from: dir + "/m.safetensors")
        guard case .numeric(let fill?) = saved.info.columns?.first?.encoding else {
            Issue.record("no fill stored: \(String(describing: saved.info.columns))")
            return
        }
        #expect(abs(fill - 5.85) < 0.1)
        let predict = run(["predict", "--model", "m.safetensors", "--data", fixture("iris-missing.csv")], in: dir)
        #expect(predict.status == 0 && predict.output.split(separator: "\n").count == 106, "\(predict.errorOutput)")
    }

    /// Quoted text with commas, quotes and line breaks: a one-hot text feature, and class names that need quoting in
    /// `predict`'s output.
    @Test func quotedTextAndClassNames() throws {
        let dir = CommandRunner.temporaryDirectory("csv-quoted")
        let (result, _) = train(["--data", fixture("climate-quoted.csv")], in: dir)
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.errorOutput.contains("column 'city' holds text: one-hot encoded as 4 inputs"))
        let saved = try SavedModel<Float>.read(from: dir + "/m.safetensors")
        #expect(saved.info.classNames == ["cold,\nsnowy", "dry \"hot\"", "wet, mild"])
        #expect(saved.info.featureNames?.contains("city=Portland, OR") == true)
        let predict = run(["predict", "--model", "m.safetensors", "--data", fixture("climate-quoted.csv"), "--output", "p.csv",
                           "--probabilities"], in: dir)
        #expect(predict.status == 0, "\(predict.errorOutput)")
        // Read back with the tool's own parser: 160 rows, every class name intact.
        let table = try CSVTable(bytes: CommandRunner.readBytes(dir + "/p.csv") ?? [], file: "p.csv")
        #expect(table.rows.first?.fields == ["row", "prediction", "p_cold,\nsnowy", "p_dry \"hot\"", "p_wet, mild"])
        let source = try CSVTable(bytes: CommandRunner.readBytes(fixture("climate-quoted.csv")) ?? [], file: "c.csv")
        #expect(table.rows.dropFirst().map { $0.fields[1] } == source.rows.dropFirst().map { $0.fields[2] })
    }

    /// Regression on whole-number targets: standardised for training, reported in the target's units. A linear model
    /// (no hidden layer) trained by gradient descent comes close to least squares, whose test R² on this split is
    /// 0.3594 and MAE 45.12 (scikit-learn's `LinearRegression`, computed when the fixture was made).
    @Test func regressionOnDiabetes() {
        let dir = CommandRunner.temporaryDirectory("csv-diabetes")
        let result = run(["train", "--data", fixture("diabetes-train.csv"), "--task", "regression", "--layers", "", "--epochs", "300",
                          "--learning-rate", "0.01", "--output", "m.safetensors", "--quiet"], in: dir)
        #expect(result.status == 0, "\(result.errorOutput)")
        let evaluate = run(["evaluate", "--model", "m.safetensors", "--data", fixture("diabetes-test.csv"), "--json"], in: dir)
        let numbers = jsonNumbers(evaluate.output)
        #expect((numbers["r2"] ?? 0) > 0.345 && (numbers["mae"] ?? 100) < 46, "\(evaluate.output)\(evaluate.errorOutput)")
        #expect(numbers["loss_standardized"] != nil)
        let auto = run(["train", "--data", fixture("diabetes-train.csv"), "--epochs", "1"], in: dir)
        #expect(auto.output.contains("331 samples, 10 features, regression"))
        #expect(auto.errorOutput.contains("task: regression (column 'target' holds numbers)"))
        // Forced classification: each of the 187 distinct values in the training file is a class.
        let classes = run(["train", "--data", fixture("diabetes-train.csv"), "--task", "classification", "--epochs", "1"], in: dir)
        #expect(classes.status == 0 && classes.output.contains("331 samples, 10 features, 187 classes"), "\(classes.output)\(classes.errorOutput)")
        let predict = run(["predict", "--model", "m.safetensors", "--data", fixture("diabetes-test.csv")], in: dir)
        let values = predict.output.split(separator: "\n").dropFirst().compactMap { Double($0.split(separator: ",")[1]) }
        #expect(values.count == 111)
        let mean = values.reduce(0, +) / Double(max(values.count, 1))
        #expect(mean > 100 && mean < 200, "predictions are in the target's units (its mean is 152), got a mean of \(mean)")
    }
}

/// Model files of the first format (written by Backprop before CSV columns were stored: the label column as the
/// flag was given, features by name only) read as they did.
@Suite("First-format model files")
struct FirstFormatModelTests {
    let tool = CommandRunner.backprop

    /// `v1-shapes.safetensors` (trained with `--label-column kind`) and `v1-areas.safetensors` (regression, the
    /// label the last column by default) were written by the tool at commit 04005c8; the expected values are what
    /// that tool's `evaluate --json` printed for them (to rounding: products may differ in the last bits between
    /// kernels).
    @Test func firstFormatModelsEvaluateAsBefore() throws {
        let dir = CommandRunner.temporaryDirectory("v1-models")
        let fixtures = RealWorldCSVTests.fixtures
        func evaluate(_ model: String, _ data: String) throws -> [String: Any] {
            let result = CommandRunner.run([tool, "evaluate", "--model", fixtures + "/" + model, "--data", fixtures + "/" + data, "--json"], in: dir)
            #expect(result.status == 0, "\(result.errorOutput)")
            return try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any] ?? [:]
        }
        func close(_ value: Any?, _ expected: Double) -> Bool {
            guard let value = value as? Double else { return false }
            return abs(value - expected) <= 1e-5 * max(1, abs(expected))
        }
        let shapes = try evaluate("v1-shapes.safetensors", "shapes.csv")
        #expect(shapes["samples"] as? Int == 80 && close(shapes["loss"], 0.004444773495197296) && close(shapes["accuracy"], 1))
        #expect(shapes["classes"] as? [String] == ["large", "small"] && shapes["confusion_matrix"] as? [[Int]] == [[40, 0], [0, 40]])
        let areas = try evaluate("v1-areas.safetensors", "areas.csv")
        #expect(areas["samples"] as? Int == 60 && close(areas["loss"], 0.058775528271993) && close(areas["mae"], 0.2606362462043762)
                && close(areas["rmse"], 0.3428572070288399) && close(areas["r2"], 0.9357368585186973), "\(areas)")
        CommandRunner.writeText("height,width\n2.6,3.2\n0.6,1.1\n", to: dir + "/new.csv")
        let predict = CommandRunner.run([tool, "predict", "--model", fixtures + "/v1-shapes.safetensors", "--data", "new.csv"], in: dir)
        #expect(predict.output == "row,prediction\n0,large\n1,small\n", "\(predict.errorOutput)")
    }
}
