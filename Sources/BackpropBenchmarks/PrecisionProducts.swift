import BackpropCore
import BackpropNN
import Foundation

/// One matrix product of a training step, on random operands of its shapes, computed in the given precision.
struct StepProduct {
    let name: String
    let flops: Double
    let run: (MatrixPrecision) -> Void
}

/// `products W1|W2|C1|C2 [rounds]`: the matrix products of one training step of a workload, alone, on the worker
/// pool, in Float32 and in bfloat16, alternated product by product in one process (the fastest of `rounds` runs
/// each): how much bfloat16 speeds up the products themselves, apart from the rest of the step. A convolution reads its
/// windows in place, as the fused step does; the first one is left out when it runs direct (not a product).
func runPrecisionProducts(_ workload: Workload, rounds: Int) throws {
    let products = try stepProducts(of: workload)
    var best = [[Double]](repeating: [.infinity, .infinity], count: products.count)
    let precisions: [MatrixPrecision] = [.float32, .bfloat16]
    for _ in 0..<rounds {
        for (index, product) in products.enumerated() {
            for (variant, precision) in precisions.enumerated() {
                best[index][variant] = min(best[index][variant], seconds { product.run(precision) })
            }
        }
    }
    print("\(workload.name): each product of a step, fastest of \(rounds) (µs): float32, \(MatrixPrecision.bfloat16), ratio")
    for (product, times) in zip(products, best) {
        print("  \(product.name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(format(times[0] * 1e6, 1))  "
              + "\(format(times[1] * 1e6, 1))  \(format(times[1] / times[0], 3))")
    }
    let totals = (0..<2).map { variant in best.map { $0[variant] }.reduce(0, +) }
    let flops = products.map(\.flops).reduce(0, +)
    print("  all: \(format(totals[0] * 1e6, 1)) µs (\(format(flops / totals[0] / 1e9, 1)) GFLOP/s) against "
          + "\(format(totals[1] * 1e6, 1)) µs (\(format(flops / totals[1] / 1e9, 1)) GFLOP/s): \(format(totals[1] / totals[0], 3))")
    print("RESULT {\"workload\": \"\(workload.name)\", \"float32_us\": \(format(totals[0] * 1e6, 1)), "
          + "\"bf16_us\": \(format(totals[1] * 1e6, 1)), \"ratio\": \(format(totals[1] / totals[0], 4))}")
}

/// The products of one training step of `workload` on a full batch, as its fused step computes them.
func stepProducts(of workload: Workload) throws -> [StepProduct] {
    let model = try workload.model(seed: 0)
    guard let outputs = model.outputShapesOfEveryLayer else { return [] }
    let batch = workload.batchSize
    var generator = SeededGenerator(seed: 1)
    func random(_ shape: [Int]) -> Tensor<Float> { Tensor.uniform(shape: shape, in: -1...1, using: &generator) }
    var products: [StepProduct] = []
    var seenParameters = false
    for (index, layer) in model.layers.enumerated() {
        let input = index == 0 ? (model.fixedInputShape ?? []) : outputs[index - 1]
        let first = !seenParameters
        seenParameters = seenParameters || !layer.parameters.isEmpty
        if let dense = layer as? Dense<Float> {
            let (n, k) = (dense.outputSize, dense.inputSize)
            let a = random([batch, k]), w = random([n, k]), delta = random([batch, n])
            var z = random([batch, n]), gradient = random([n, k]), below = random([batch, k])
            let flops = 2.0 * Double(batch * n * k)
            products.append(StepProduct(name: "dense \(k)→\(n) z = a·Wᵀ", flops: flops) {
                z.assignProduct(a, w, transposeB: true, precision: $0)
            })
            products.append(StepProduct(name: "dense \(k)→\(n) ∂J/∂W = δᵀ·a", flops: flops) {
                gradient.assignProduct(delta, a, transposeA: true, precision: $0)
            })
            if !first {
                products.append(StepProduct(name: "dense \(k)→\(n) δ·W", flops: flops) {
                    below.assignProduct(delta, w, precision: $0)
                })
            }
        } else if let conv = layer as? Conv2D<Float>, !first, input.count == 3 {
            let problem = conv.window.problem(batch: batch, channels: input[0], height: input[1], width: input[2])
            guard let rows = problem.unfoldedRows else {
                throw BenchmarkError.unsupportedLayer("\(type(of: layer)) at \(index): a padded or strided convolution past the first")
            }
            let (pixels, depth, filters) = (rows.rows, rows.columns, conv.outputChannels)
            let images = random([batch * input[1] * input[2], input[0]])
            let w = random([filters, depth]), delta = random([pixels, filters])
            var z = random([pixels, filters]), gradient = random([depth, filters]), below = random(images.shape)
            let flops = 2.0 * Double(pixels * depth * filters)
            let name = "conv \(input[0])→\(filters) \(conv.window.kernelHeight)×\(conv.window.kernelWidth)"
            products.append(StepProduct(name: "\(name) z = X̃·W̃ᵀ", flops: flops) {
                z.assignProduct(gathering: rows, from: images, w, transposeB: true, precision: $0)
            })
            products.append(StepProduct(name: "\(name) ∂J/∂W̃ᵀ = X̃ᵀ·δ", flops: flops) {
                gradient.assignProduct(gathering: rows, from: images, delta, transposeA: true, precision: $0)
            })
            products.append(StepProduct(name: "\(name) fold(δ·W̃)", flops: flops) {
                below.assignFoldedProduct(delta, w, problem, rows: rows, precision: $0)
            })
        }
    }
    return products
}

/// A workload the `products` benchmark cannot take apart.
enum BenchmarkError: Error, CustomStringConvertible {
    case unsupportedLayer(String)

    var description: String {
        switch self {
        case .unsupportedLayer(let layer): "products times convolutions that read their windows in place; not \(layer)"
        }
    }
}
