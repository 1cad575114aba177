@testable import BackpropBenchmarks
import BackpropCore
import Testing

/// The products the `products` benchmark times are the step's: every product of ``Workload/stepProducts`` but those of
/// a first convolution (which the fused step runs direct), and each runs in both precisions.
@Suite("products benchmark")
struct PrecisionProductsTests {
    @Test(arguments: ["W1", "W2", "C1", "C2"])
    func timesTheStepsProducts(_ name: String) throws {
        let workload = try #require(Workload.all.first { $0.name == name })
        let products = try stepProducts(of: workload)
        var expected = workload.stepProducts.map(\.flops)
        if workload.sizes == nil { expected.removeFirst(2) }  // the first convolution: forward, ∂J/∂W
        #expect(products.map(\.flops) == expected)
        for product in products {
            product.run(.float32)
            product.run(.bfloat16)
        }
    }
}
