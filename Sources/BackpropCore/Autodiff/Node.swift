/// One recorded operation: what it was, the values it read and the value it produced.
///
/// A node points only to its inputs' nodes, so a graph has no cycles and is owned by the tensor at its end; it is
/// freed when that tensor is. There is no global tape.
public final class Node<Scalar: TensorScalar>: @unchecked Sendable {
    // Sendable: all stored properties are immutable after init, and the tensors they hold are copy-on-write values.
    // The one exception, `inputNodes`, is emptied only in `deinit`, on nodes no other reference can reach.
    /// The operation.
    public let op: Op
    /// The nodes of the operation's inputs (`nil` for an input that is not tracked).
    public private(set) var inputNodes: [Node?]
    /// The inputs' values, without their graphs.
    public let inputs: [Tensor<Scalar>]
    /// The result's value, without its graph; derivative rules may reuse it (σ′ = σ(1 − σ)).
    public let output: Tensor<Scalar>
    /// Extra tensors a derivative rule needs (a mask, the targets of a loss).
    public let saved: [Tensor<Scalar>]

    init(op: Op, inputs: [Tensor<Scalar>], output: Tensor<Scalar>, saved: [Tensor<Scalar>]) {
        self.op = op
        inputNodes = inputs.map(\.node)
        self.inputs = inputs.map(\.detached)
        self.output = output.detached
        self.saved = saved.map(\.detached)
    }

    init(leafOf storage: TensorStorage<Scalar>, shape: [Int]) {
        op = .leaf
        inputNodes = []
        inputs = []
        output = Tensor(storage: storage, shape: shape)
        saved = []
    }

    /// Releases the graph below this node with a loop instead of recursion: releasing a chain of thousands of nodes
    /// one inside the other (a network of thousands of layers) would overflow the stack. Each input node that only
    /// this graph holds hands its own inputs to the loop before it is released, so no release goes deeper than one.
    deinit {
        guard !inputNodes.isEmpty else { return }
        var pending = inputNodes.compactMap { $0 }
        inputNodes = []
        while var node = pending.popLast() {
            if isKnownUniquelyReferenced(&node) {
                pending += node.inputNodes.compactMap { $0 }
                node.inputNodes = []
            }
        }
    }
}

extension Tensor {
    /// Wraps an already computed value as the result of `op`, recording a node when any input is tracked.
    static func recorded(_ op: Op, inputs: [Tensor], value: Tensor, saved: [Tensor] = []) -> Tensor {
        guard inputs.contains(where: { $0.node != nil }) else { return value }
        var result = value
        result.node = Node(op: op, inputs: inputs, output: value, saved: saved)
        return result
    }

    /// The graph node that produced this tensor (for inspection and graph export).
    public var graphNode: Node<Scalar>? { node }
}
