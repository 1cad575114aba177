import BackpropCore
import BackpropData
import BackpropNN
import Testing

@Suite("CSV")
struct CSVTests {
    func table(_ text: String) throws -> CSVTable { try CSVTable(bytes: Array(text.utf8), file: "t.csv") }

    func failure(_ bytes: [UInt8]) -> String {
        do {
            _ = try CSVTable(bytes: bytes, file: "t.csv")
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test func parsesQuotingLineEndsAndBOM() throws {
        let t = try table("\u{FEFF}a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n\n 1 , 2 \n\"multi\nline\",3")
        #expect(t.rows.map(\.fields) == [["a", "b"], ["x, y", "say \"hi\""], ["1", "2"], ["multi\nline", "3"]])
        #expect(t.rows.map(\.line) == [1, 2, 4, 5])
    }

    @Test func rejectsBrokenFilesWithThePosition() {
        #expect(failure(Array("a,b\n\"open,1\n".utf8)).contains("line 2: a quoted field is not closed"))
        #expect(failure(Array("a,b\nx\"y,1\n".utf8)).contains("line 2, column 1: quote inside an unquoted field"))
        #expect(failure(Array("a,b\n\"x\"y,1\n".utf8)).contains("line 2, column 1: text after a closing quote"))
        #expect(failure([0x61, 0x2C, 0x62, 0x0A, 0xFF, 0xFE, 0x2C, 0x31]).contains("line 2, column 1: not valid UTF-8"))
        #expect(failure(Array("a,b\n1,\u{0}2\n".utf8)).contains("line 2, column 2: contains a NUL byte"))
        #expect(failure(Array(repeating: UInt8(ascii: "x"), count: CSVTable.fieldLimit + 1)).contains("longer than"))
    }

    func read(_ text: String, _ options: TabularOptions = TabularOptions()) throws -> TabularData {
        try TabularData(fitting: table(text), file: "t.csv", options: options)
    }

    func readFailure(_ text: String, _ options: TabularOptions = TabularOptions()) -> String {
        do {
            _ = try read(text, options)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test func readsFeaturesAndLabels() throws {
        let withHeader = try read("w,h,kind\n1,2,cat\n3,4,dog\n5,6,cat\n", TabularOptions(label: .name("kind")))
        #expect(withHeader.inputNames == ["w", "h"] && withHeader.labelName == "kind")
        #expect(withHeader.features.scalars == [1, 2, 3, 4, 5, 6])
        #expect(withHeader.targetClassNames == ["cat", "dog"] && !withHeader.targetsLookLikeRegression)
        let headerless = try read("1,2,cat\n3,4,dog\n")
        #expect(headerless.inputNames == ["column1", "column2"] && headerless.targets == ["cat", "dog"])
        #expect(try read("x,y\n1,0.5\n2,1.5\n").targetsLookLikeRegression)
        #expect(try read("x,y\n1,10\n2,2\n3,10\n").targetClassNames == ["2", "10"])
        #expect(try read("x;y\n1;0,5\n2;1,5\n").targetValues(file: "t.csv") == [0.5, 1.5])
        #expect(throws: DataError.self) { try read("x,y\n1,a\n2,1.5\n").targetValues(file: "t.csv") }
        #expect(readFailure("x,y\n1,\n", TabularOptions(label: .index(0))).contains("line 2, column 2 ('y')"))
        #expect(readFailure("x,y\n1,2\n", TabularOptions(label: .name("z"))).contains("no column named 'z'"))
        #expect(readFailure("x,y\n1e999,2\n").contains("line 2, column 1 ('x'): '1e999' is not a finite number"))
    }

    /// The label is the column named like one (any case), else the last; `--label` names another anywhere.
    @Test func findsTheLabelColumn() throws {
        #expect(try read("a,Target,b\n1,x,2\n3,y,4\n").labelName == "Target")
        #expect(try read("a,b,c\n1,x,2\n3,y,4\n").labelName == "c")
        let first = try read("species,a,b\nx,1,2\ny,3,4\n", TabularOptions(label: .index(0)))
        #expect(first.labelName == "species" && first.inputNames == ["a", "b"] && first.targets == ["x", "y"])
        #expect(readFailure("a,b\n1,2\n", TabularOptions(label: .name("lable"))).contains("did you mean 'label'") == false)
        #expect(readFailure("label,b\n1,2\n", TabularOptions(label: .name("lable"))).contains("did you mean 'label'?"))
    }

    /// Semicolons and tabs are detected from the header; with them a decimal comma reads as a decimal point.
    @Test func readsEuropeanAndTabSeparatedFiles() throws {
        let semicolons = try table("a;b;label\n1,5;2;x\n\"3;4\";-0,25;y\n")
        #expect(semicolons.delimiter == ";" && semicolons.rows[2].fields == ["3;4", "-0,25", "y"])
        let european = try read("a;b;label\n1,5;2;x\n3;-0,25;y\n")
        #expect(european.features.scalars == [1.5, 2, 3, -0.25])
        let tabs = try read("a\tb\tlabel\n1.5\t2\tx\n3\t4\ty\n")
        #expect(tabs.features.scalars == [1.5, 2, 3, 4])
        // With commas, "1,5" would be two fields; a comma in a semicolon file is never a thousands separator.
        #expect(try table("a,b;c\n").delimiter == ",")
        #expect(try CSVTable(bytes: Array("a,b\n1,2\n".utf8), file: "t.csv", delimiter: ";").rows[1].fields == ["1,2"])
    }

    /// Missing cells: an error that counts them and names the flags, the rows dropped, or filled with the mean.
    @Test func missingCellsFollowThePolicy() throws {
        let text = "a,b,label\n1,NA,x\n3,4,y\n?,6,x\n5,,y\n"
        let error = readFailure(text)
        #expect(error.contains("3 missing values (the first at line 2, column 2 ('b'))") && error.contains("--missing drop")
                && error.contains("--missing mean"), "\(error)")
        let dropped = try read(text, TabularOptions(missing: .drop))
        #expect(dropped.features.scalars == [3, 4] && dropped.targets == ["y"] && dropped.lines == [3])
        let filled = try read(text, TabularOptions(missing: .mean))
        #expect(filled.features.scalars == [1, 5, 3, 4, 3, 6, 5, 5])
        #expect(filled.columns.map(\.encoding) == [.numeric(fill: 3), .numeric(fill: 5)])
        // A row without a label cannot train: dropped under drop and mean, an error otherwise.
        #expect(readFailure("a,label\n1,x\n2,\n3,y\n").contains("1 missing label (the first at line 3"))
        #expect(try read("a,label\n1,x\n2,\n3,y\n", TabularOptions(missing: .mean)).targets == ["x", "y"])
    }

    /// Text feature columns are one-hot encoded; a category unseen in training gives all zeros and a notice.
    @Test func textColumnsAreOneHotEncoded() throws {
        let data = try read("size,colour,label\n1,red,x\n2,blue,y\n3,red,x\n")
        #expect(data.inputNames == ["size", "colour=blue", "colour=red"])
        #expect(data.features.scalars == [1, 0, 1, 2, 1, 0, 3, 0, 1])
        let model = (data.columns, data.labelName.map(ColumnReference.name), data.ignoredNames)
        let new = try TabularData(table: table("colour,size\ngreen,4\nblue,5\n"), file: "n.csv", model: model, options: TabularOptions())
        #expect(new.features.scalars == [4, 0, 0, 5, 1, 0] && new.targets == nil)
        #expect(new.notices.contains { $0.contains("1 value of column 'colour' were not seen in training (e.g. 'green' at line 2)") })
        let many = "id,label\n" + (0..<1001).map { "name\($0),\($0 % 2)" }.joined(separator: "\n")
        #expect(readFailure(many).contains("1001 distinct texts") && readFailure(many).contains("--ignore-columns 'id'"))
    }

    /// Columns are matched by name for a model; a missing or unknown column is an error naming it.
    @Test func modelColumnsAreMatchedByName() throws {
        let data = try read("a,b,label\n1,2,x\n3,4,y\n")
        let model = (data.columns, data.labelName.map(ColumnReference.name), data.ignoredNames)
        let reordered = try TabularData(table: table("label,b,a\nx,20,10\n"), file: "n.csv", model: model, options: TabularOptions())
        #expect(reordered.features.scalars == [10, 20] && reordered.targets == ["x"])
        func failure(_ text: String, _ options: TabularOptions = TabularOptions()) -> String {
            do { _ = try TabularData(table: table(text), file: "n.csv", model: model, options: options); return "accepted" } catch { return "\(error)" }
        }
        #expect(failure("a,label\n1,x\n").contains("no column 'b', which the model needs"))
        #expect(failure("a,b,c,label\n1,2,3,x\n").contains("column 'c' is not one of the model's features (a, b); pass --ignore-columns 'c'"))
        #expect(failure("a,b,c,label\n1,2,3,x\n", TabularOptions(ignored: [.name("c")])) == "accepted")
        // A headerless file of exactly the model's width is taken in the model's order.
        #expect(try TabularData(table: table("5,6\n"), file: "n.csv", model: model, options: TabularOptions()).features.scalars == [5, 6])
    }

    /// An unnamed first column of distinct whole numbers (a saved DataFrame index) is not a feature.
    @Test func savedRowIndexIsIgnored() throws {
        let data = try read(",a,label\n3,1.5,x\n0,2.5,y\n7,0.5,x\n")
        #expect(data.inputNames == ["a"] && data.ignoredNames == ["column1"])
        #expect(data.notices.contains { $0.contains("saved row index") })
        let named = try read("n,a,label\n3,1.5,x\n0,2.5,y\n")
        #expect(named.inputNames == ["n", "a"])
        #expect(try read("column1,a,label\n3,1.5,x\n0,2.5,y\n").inputNames == ["column1", "a"])
        let ids = try read("name,a,label\nann,1,x\nbob,2,y\n", TabularOptions(idColumn: .name("name")))
        #expect(ids.inputNames == ["a"] && ids.ids?.name == "name" && ids.ids?.values == ["ann", "bob"])
    }

    @Test func scalingIsFittedOnTrainingDataAndReapplied() throws {
        let train = Tensor<Double>([[0, 10], [2, 10], [4, 10]])
        let standard = FeatureScaling.fit(.standard, to: train)
        let scaled = try standard.apply(to: train)
        #expect(Swift.abs(scaled.mean(alongAxis: 0).scalars[0]) < 1e-12)
        #expect(scaled.scalars[1] == 0)  // the constant column keeps its spread of 1 and is centred
        let minmax = FeatureScaling.fit(.minmax, to: train)
        #expect(try minmax.apply(to: Tensor([[1, 10]])).scalars == [0.25, 0])
        #expect(throws: DataError.self) { try minmax.apply(to: Tensor([[1, 2, 3]])) }
    }
}
