import BackpropCore
import BackpropTestSupport
import Testing

/// Gradient checks of the image and normalisation operations, across strides, padding and edge cases.
extension OpCase {
    static func window(_ kh: Int, _ kw: Int, stride: (Int, Int) = (1, 1), padding: (Int, Int, Int, Int) = (0, 0, 0, 0)) -> SlidingWindow {
        SlidingWindow(kernelHeight: kh, kernelWidth: kw, strideHeight: stride.0, strideWidth: stride.1,
                      padTop: padding.0, padBottom: padding.1, padLeft: padding.2, padRight: padding.3)
    }

    static func convolution(_ name: String, input: [Int], outChannels: Int, window: SlidingWindow, bias: Bool) -> OpCase {
        OpCase(name: name, inputs: {
            let weight = TestData.uniform(shape: [outChannels, input[1], window.kernelHeight, window.kernelWidth], seed: 12)
            return [TestData.uniform(shape: input, seed: 11), weight] + (bias ? [TestData.uniform(shape: [outChannels], seed: 13)] : [])
        }, function: { p in weighted(conv2D(p[0], weight: p[1], bias: p.count == 3 ? p[2] : nil, window: window)) })
    }

    static let images: [OpCase] = [
        convolution("conv2D 3×3 valid, bias", input: [2, 3, 5, 6], outChannels: 4, window: window(3, 3), bias: true),
        convolution("conv2D 3×3 same padding, no bias", input: [2, 2, 4, 4], outChannels: 3, window: window(3, 3, padding: (1, 1, 1, 1)), bias: false),
        convolution("conv2D 2×3 stride 2×1, asymmetric padding", input: [1, 2, 5, 5], outChannels: 2,
                    window: window(2, 3, stride: (2, 1), padding: (1, 0, 0, 2)), bias: true),
        convolution("conv2D stride 3 skipping the last rows", input: [2, 1, 7, 8], outChannels: 2, window: window(2, 2, stride: (3, 3)), bias: true),
        convolution("conv2D 1×1", input: [3, 4, 2, 2], outChannels: 5, window: window(1, 1), bias: true),
        convolution("conv2D kernel as large as the image", input: [2, 2, 3, 3], outChannels: 2, window: window(3, 3), bias: true),
        unary("maxPool2D 2×2 stride 2", shape: [2, 3, 4, 6]) { maxPool2D($0, window: window(2, 2, stride: (2, 2))) },
        unary("maxPool2D 3×3 stride 2 overlapping, odd size", shape: [1, 2, 7, 5]) { maxPool2D($0, window: window(3, 3, stride: (2, 2))) },
        unary("maxPool2D with padding", shape: [1, 1, 4, 4]) { maxPool2D($0, window: window(2, 2, stride: (2, 2), padding: (1, 1, 1, 1))) },
        unary("averagePool2D 2×2 stride 2", shape: [2, 3, 4, 4]) { averagePool2D($0, window: window(2, 2, stride: (2, 2))) },
        unary("averagePool2D 3×2 stride 1 overlapping", shape: [1, 2, 5, 4]) { averagePool2D($0, window: window(3, 2)) },
        unary("global average pool (mean over H, W)", shape: [2, 3, 3, 4]) { $0.mean(alongAxes: [2, 3]) },
        unary("normalize features (batch norm, dense)", shape: [5, 3]) { $0.normalized(alongAxes: [0], epsilon: 1e-5).normalized },
        unary("normalize channels (batch norm, images)", shape: [3, 2, 3, 3]) { $0.normalized(alongAxes: [0, 2, 3], epsilon: 1e-3).normalized },
        unary("normalize samples (layer norm)", shape: [3, 2, 2, 3]) { $0.normalized(alongAxes: [1, 2, 3], epsilon: 1e-5).normalized },
        unary("normalize a group of two", shape: [2, 4]) { $0.normalized(alongAxes: [0], epsilon: 1e-5).normalized },
    ]
}

@Suite("Convolution, pooling and normalisation")
struct ConvolutionTests {
    @Test(arguments: OpCase.images)
    func gradientMatchesFiniteDifferences(_ op: OpCase) {
        let report = GradientCheck.run(at: op.inputs(), op.function)
        #expect(report.passed(tolerance: 1e-6), "\(report)")
    }

    /// The definition, one sum per output element.
    static func directConvolution(_ x: Tensor<Double>, _ w: Tensor<Double>, _ b: Tensor<Double>, _ window: SlidingWindow) -> Tensor<Double> {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let o = w.shape[0]
        let size = window.outputSize(height: h, width: wd)!
        var y = Tensor<Double>.zeros(shape: [n, o, size.height, size.width])
        for s in 0..<n { for f in 0..<o { for i in 0..<size.height { for j in 0..<size.width {
            var sum = b[f]
            for ch in 0..<c { for p in 0..<window.kernelHeight { for q in 0..<window.kernelWidth {
                let row = i * window.strideHeight + p - window.padTop, column = j * window.strideWidth + q - window.padLeft
                if row >= 0 && row < h && column >= 0 && column < wd { sum += w[f, ch, p, q] * x[s, ch, row, column] }
            } } }
            y[s, f, i, j] = sum
        } } } }
        return y
    }

    @Test(arguments: [OpCase.window(3, 3), OpCase.window(3, 3, padding: (1, 1, 1, 1)), OpCase.window(2, 3, stride: (2, 1), padding: (1, 0, 0, 2)),
                      OpCase.window(2, 2, stride: (3, 3)), OpCase.window(1, 1)])
    func convolutionEqualsItsDefinition(_ window: SlidingWindow) {
        let x = TestData.uniform(shape: [2, 3, 7, 8], seed: 1)
        let w = TestData.uniform(shape: [4, 3, window.kernelHeight, window.kernelWidth], seed: 2)
        let b = TestData.uniform(shape: [4], seed: 3)
        let y = conv2D(x, weight: w, bias: b, window: window)
        let expected = Self.directConvolution(x, w, b, window)
        #expect(y.shape == expected.shape)
        #expect(TestData.maxDifference(y, expected) < 1e-13)
    }

    /// The fused step's channels-last average pooling computes the graph's values and gradients in the graph's order.
    @Test(arguments: [OpCase.window(2, 2, stride: (2, 2)), OpCase.window(3, 2), OpCase.window(3, 3, stride: (2, 2)),
                      OpCase.window(2, 3, stride: (2, 1), padding: (1, 0, 0, 2)), OpCase.window(5, 7)])
    func channelsLastAveragePoolingIsTheGraphsBitForBit(_ window: SlidingWindow) throws {
        let (n, c, h, w) = (3, 4, 5, 7)
        let size = try #require(window.outputSize(height: h, width: w))
        let x = TestData.uniform(shape: [n, c, h, w], seed: 21).converted(to: Float.self).requiringGradient()
        let g = TestData.uniform(shape: [n, c, size.height, size.width], seed: 22).converted(to: Float.self)
        let y = averagePool2D(x, window: window)
        let dx = (y * g).sum().gradients(withRespectTo: [x])[0]

        func channelsLast(_ t: Tensor<Float>) -> Tensor<Float> {
            var out = Tensor<Float>.zeros(shape: [t.shape[0] * t.shape[2] * t.shape[3], t.shape[1]])
            out.assignTransposed(t.detached, batch: t.shape[0], rows: t.shape[1], columns: t.shape[2] * t.shape[3])
            return out
        }
        let problem = window.problem(batch: n, channels: c, height: h, width: w)
        var pooled = Tensor<Float>.zeros(shape: [n * size.height * size.width, c])
        pooled.assignAveragePool(channelsLast(x), problem)
        var gradient = Tensor<Float>.zeros(shape: [n * h * w, c])
        gradient.assignAveragePoolGradient(channelsLast(g), problem)
        #expect(pooled.scalars == channelsLast(y).scalars)
        #expect(gradient.scalars == channelsLast(dx).scalars)
    }

    @Test func maxPoolingGivesTiesGradientToTheFirstOnly() {
        let x = Tensor<Double>(shape: [1, 1, 2, 4], elements: [1, 1, 0, 5, 1, 0, 5, 5]).requiringGradient()
        let y = maxPool2D(x, window: SlidingWindow(kernelHeight: 2, kernelWidth: 2, strideHeight: 2, strideWidth: 2))
        #expect(y.scalars == [1, 5])
        let gradient = y.sum().gradients(withRespectTo: [x])[0]
        #expect(gradient.scalars == [1, 0, 0, 1, 0, 0, 0, 0])
    }

    @Test func poolingValues() {
        let x = Tensor<Double>(shape: [1, 1, 3, 3], elements: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let window = SlidingWindow(kernelHeight: 2, kernelWidth: 2)
        #expect(maxPool2D(x, window: window).scalars == [5, 6, 8, 9])
        #expect(averagePool2D(x, window: window).scalars == [3, 4, 6, 7])
        let padded = SlidingWindow(kernelHeight: 2, kernelWidth: 2, strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 1)
        #expect(maxPool2D(-x, window: padded).scalars == [-1, -2, -4, -5])
    }

    @Test func outputSizes() {
        #expect(SlidingWindow(kernelHeight: 3, kernelWidth: 3).outputSize(height: 28, width: 28)! == (26, 26))
        #expect(SlidingWindow(kernelHeight: 2, kernelWidth: 2, strideHeight: 2, strideWidth: 2).outputSize(height: 13, width: 13)! == (6, 6))
        #expect(SlidingWindow(kernelHeight: 3, kernelWidth: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1).outputSize(height: 5, width: 4)! == (5, 4))
        #expect(SlidingWindow(kernelHeight: 5, kernelWidth: 5).outputSize(height: 4, width: 9) == nil)
        #expect(SlidingWindow(kernelHeight: 2, kernelWidth: 2, padTop: 2).outputSize(height: 4, width: 4) == nil)
        #expect(SlidingWindow(kernelHeight: 0, kernelWidth: 2).outputSize(height: 4, width: 4) == nil)
    }

    @Test func normalizationMoments() {
        let x = Tensor<Double>([[1, 10], [3, 20], [5, 60]])
        let (y, mean, variance) = x.normalized(alongAxes: [0], epsilon: 0)
        #expect(mean.shape == [1, 2] && mean.scalars == [3, 30])
        #expect(abs(variance.scalars[0] - 8.0 / 3) < 1e-12 && abs(variance.scalars[1] - 1400.0 / 3) < 1e-9)
        #expect(abs(y.mean(alongAxes: [0]).scalars[1]) < 1e-12)
    }
}
