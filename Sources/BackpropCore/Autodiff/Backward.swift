extension Tensor {
    /// Reverse-mode differentiation: the gradient of this scalar with respect to each of `targets`.
    ///
    /// Walks the graph that produced `self` in reverse topological order (right to left). Each node's upstream
    /// gradient is complete before its rule runs (the dynamic-programming view of backpropagation), the rule gives one
    /// gradient per input, a gradient of a broadcast input is summed back to the input's shape, and a value used
    /// more than once accumulates (`+=`) the gradients of all its uses.
    ///
    /// `targets` may be leaves (parameters) or intermediate results such as a layer's pre-activation `z`, whose
    /// gradient is the layer's error term δ = ∂J/∂z. A target that does not influence `self` gets zeros.
    ///
    /// - Precondition: `self` holds one element and every target is tracked.
    public func gradients(withRespectTo targets: [Tensor]) -> [Tensor] {
        precondition(count == 1, "gradients(withRespectTo:): the loss must hold one element, its shape is \(shape)")
        return gradients(withRespectTo: targets, seed: Tensor.ones(shape: shape))
    }

    /// The vector–Jacobian product `seedᵀ · ∂self/∂target` for each target (``gradients(withRespectTo:)`` with a
    /// seed of ones for a non-scalar result).
    public func gradients(withRespectTo targets: [Tensor], seed: Tensor) -> [Tensor] {
        precondition(seed.shape == shape, "gradients(withRespectTo:seed:): seed shape \(seed.shape) differs from \(shape)")
        for (i, target) in targets.enumerated() {
            precondition(target.node != nil, "gradients(withRespectTo:): target \(i) of shape \(target.shape) is not tracked; make it with requiringGradient()")
        }
        guard let root = node else { return targets.map { Tensor.zeros(like: $0) } }
        let wanted = Set(targets.map { ObjectIdentifier($0.node!) })
        let (_, gradients) = Tensor.walkBackward(from: root, seed: seed.detached, keeping: { wanted.contains($0) })
        return targets.map { gradients[ObjectIdentifier($0.node!)] ?? Tensor.zeros(like: $0) }
    }

    /// The backward walk with every intermediate gradient kept: the nodes in the order the walk visited them (right
    /// to left) and ∂self/∂(each node's value), for inspection and graph export.
    ///
    /// - Precondition: `self` holds one element and is tracked.
    public func backwardTrace() -> (visitOrder: [Node<Scalar>], gradients: [ObjectIdentifier: Tensor]) {
        precondition(count == 1, "backwardTrace(): the loss must hold one element, its shape is \(shape)")
        guard let root = node else { preconditionFailure("backwardTrace(): the loss is not tracked") }
        return Tensor.walkBackward(from: root, seed: Tensor.ones(shape: shape), keeping: { _ in true })
    }

    /// The backward walk itself: visits the nodes in reverse topological order, applies each op's rule to its
    /// complete upstream gradient, sums broadcast gradients back to the inputs' shapes and accumulates fan-out.
    /// Gradients of nodes that `keeping` rejects are released as soon as they have been used.
    private static func walkBackward(
        from root: Node<Scalar>, seed: Tensor, keeping: (ObjectIdentifier) -> Bool
    ) -> (visitOrder: [Node<Scalar>], gradients: [ObjectIdentifier: Tensor]) {
        var gradients: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed]
        let order = Array(topologicalOrder(from: root).reversed())
        for node in order {
            let id = ObjectIdentifier(node)
            guard let upstream = gradients[id] else { continue }
            if !keeping(id) { gradients[id] = nil }
            if node.op == .leaf { continue }
            let local = node.op.vectorJacobianProducts(
                upstream: upstream, inputs: node.inputs, output: node.output, saved: node.saved,
                needed: node.inputNodes.map { $0 != nil })
            for (index, inputNode) in node.inputNodes.enumerated() {
                guard let inputNode, let gradient = local[index] else { continue }
                let reduced = gradient.summed(toShape: node.inputs[index].shape)
                let inputID = ObjectIdentifier(inputNode)
                gradients[inputID] = gradients[inputID].map { $0 + reduced } ?? reduced
            }
        }
        return (order, gradients)
    }

    /// The nodes reachable from `root`, each after all of its inputs (iterative depth-first post-order).
    public static func topologicalOrder(from root: Node<Scalar>) -> [Node<Scalar>] {
        var order: [Node<Scalar>] = []
        var visited: Set<ObjectIdentifier> = []
        var stack: [(node: Node<Scalar>, nextInput: Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while let (node, nextInput) = stack.popLast() {
            if nextInput < node.inputNodes.count {
                stack.append((node, nextInput + 1))
                if let input = node.inputNodes[nextInput], visited.insert(ObjectIdentifier(input)).inserted {
                    stack.append((input, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }

    /// Sums a broadcast gradient back to `target`'s shape (the inverse of NumPy broadcasting).
    func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let pad = rank - target.count
        precondition(pad >= 0, "summed(toShape:): cannot reduce \(shape) to \(target)")
        var axes: [Int] = Array(0..<pad)
        for (i, size) in target.enumerated() where size == 1 && shape[pad + i] != 1 {
            axes.append(pad + i)
        }
        return detached.sum(alongAxes: axes, keepingDimensions: true).reshaped(to: target)
    }
}
