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

    @Test func readsFeaturesAndLabels() throws {
        let withHeader = try CSVData(table: table("w,h,kind\n1,2,cat\n3,4,dog\n5,6,cat\n"), file: "t.csv", labelColumn: .name("kind"))
        #expect(withHeader.hasHeader && withHeader.featureNames == ["w", "h"])
        #expect(withHeader.features.scalars == [1, 2, 3, 4, 5, 6])
        #expect(withHeader.classNames == ["cat", "dog"] && !withHeader.looksLikeRegression)
        let headerless = try CSVData(table: table("1,2,cat\n3,4,dog\n"), file: "t.csv", labelColumn: .index(-1))
        #expect(!headerless.hasHeader && headerless.rawTargets == ["cat", "dog"])
        let regression = try CSVData(table: table("x,y\n1,0.5\n2,1.5\n"), file: "t.csv", labelColumn: .index(1))
        #expect(regression.looksLikeRegression)
        let numericClasses = try CSVData(table: table("x,y\n1,10\n2,2\n3,10\n"), file: "t.csv", labelColumn: .index(-1))
        #expect(numericClasses.classNames == ["2", "10"])
        #expect(throws: DataError.self) { try CSVData(table: table("x,y\n1,\n"), file: "t.csv", labelColumn: .index(0)) }
        #expect(throws: DataError.self) { try CSVData(table: table("x,y\n1,2\n"), file: "t.csv", labelColumn: .name("z")) }
        #expect(throws: DataError.self) { try CSVData(table: table("x,y\nnan,2\n"), file: "t.csv", labelColumn: .index(1)) }
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
