import ArgumentParser
import BackpropCore

/// `backprop rules`: the table of every op's local derivative, printed from the engine's derivative table.
struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print every operation's derivative rule.")

    func run() {
        let width = Op.catalog.map(\.name.count).max() ?? 0
        print("Local derivatives used by the backward pass (g = ∂J/∂output):")
        for op in Op.catalog {
            print("  " + op.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + op.derivativeFormula)
        }
    }
}

extension String {
    fileprivate func padding(toLength length: Int, withPad pad: String, startingAt _: Int) -> String {
        count >= length ? self : self + String(repeating: pad, count: length - count)
    }
}
