import Foundation
import Testing

/// The README's library program, compiled and run here; a second test checks that the README shows exactly it.
@Suite("The README's library program")
struct ReadmeProgramTests {
    @Test func theProgramTrainsEvaluatesPredictsSavesAndLoads() throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "backprop-readme-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appending(path: "spirals.safetensors")
        let program = try ReadmeProgram.run(savingTo: file)
        #expect(program.evaluation.accuracy! >= 0.97, "\(program.evaluation)")
        #expect(program.restored.network.parameters == program.model.network.parameters)
        #expect(program.restored.classNames == ["0", "1"])
        #expect(program.restored.history.count == program.model.history.count)
        #expect(try program.restored.predict(program.test.features).classes == program.predictions.classes)
    }

    /// The README's Swift block after "## The library" is the text between the markers in `ReadmeProgram.swift`.
    @Test func theReadmeShowsThisProgram() throws {
        let root = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appending(path: "README.md"), encoding: .utf8)
        let source = try String(contentsOf: root.appending(path: "Tests/BackpropKitTests/ReadmeProgram.swift"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## The library").dropFirst().first)
        let block = try #require(section.components(separatedBy: "```swift\n").dropFirst().first?.components(separatedBy: "```").first)
        let begin = try #require(source.range(of: "// README begin\n")), end = try #require(source.range(of: "        // README end"))
        let program = source[begin.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("        ") ? String($0.dropFirst(8)) : String($0) }.joined(separator: "\n")
        // The README names its file where the test passes a temporary one.
        let header = "import BackpropKit\nimport Foundation\n\nlet file = URL(filePath: \"spirals.safetensors\")\n"
        #expect(block == header + program, "README.md's library program differs from Tests/BackpropKitTests/ReadmeProgram.swift")
        // The DocC article Getting Started shows the same program.
        let article = try String(contentsOf: root.appending(path: "Sources/BackpropKit/BackpropKit.docc/GettingStarted.md"), encoding: .utf8)
        let shown = article.components(separatedBy: "```swift\n").dropFirst().first?.components(separatedBy: "```").first
        #expect(shown == block, "GettingStarted.md's program differs from the README's")
    }
}
