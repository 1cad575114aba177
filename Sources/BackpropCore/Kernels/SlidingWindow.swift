import CKernels

/// How a window slides over images: its size, its step, and the zero rows and columns around the image.
///
/// Convolutions and pooling share it. For an input of height `H` the output has
/// ```
/// ⌊(H + top + bottom − kernelHeight) / strideHeight⌋ + 1
/// ```
/// rows (and likewise for the width), as in PyTorch and ONNX.
public struct SlidingWindow: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The window's height and width.
    public var kernelHeight: Int, kernelWidth: Int
    /// The step between windows, down and across.
    public var strideHeight: Int, strideWidth: Int
    /// Zero rows added above and below, zero columns added left and right.
    public var padTop: Int, padBottom: Int, padLeft: Int, padRight: Int

    /// Creates a window; padding defaults to none ("valid").
    public init(kernelHeight: Int, kernelWidth: Int, strideHeight: Int = 1, strideWidth: Int = 1,
                padTop: Int = 0, padBottom: Int = 0, padLeft: Int = 0, padRight: Int = 0) {
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight
        self.strideWidth = strideWidth
        self.padTop = padTop
        self.padBottom = padBottom
        self.padLeft = padLeft
        self.padRight = padRight
    }

    /// A square window of `size × size` without padding, stepping `stride` (by default the size: windows that tile
    /// the image, as pooling layers use them).
    public init(size: Int, stride: Int? = nil) {
        self.init(kernelHeight: size, kernelWidth: size, strideHeight: stride ?? size, strideWidth: stride ?? size)
    }

    /// Whether any padding is added.
    public var isPadded: Bool { padTop != 0 || padBottom != 0 || padLeft != 0 || padRight != 0 }

    /// The output's height and width for an input of `height` × `width`, or `nil` when the window does not fit
    /// (or a size is not positive, or padding is negative or as large as the window).
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int)? {
        guard kernelHeight > 0, kernelWidth > 0, strideHeight > 0, strideWidth > 0, height > 0, width > 0,
              [padTop, padBottom].allSatisfy({ (0..<kernelHeight).contains($0) }),
              [padLeft, padRight].allSatisfy({ (0..<kernelWidth).contains($0) }) else { return nil }
        let paddedHeight = height + padTop + padBottom, paddedWidth = width + padLeft + padRight
        guard paddedHeight >= kernelHeight, paddedWidth >= kernelWidth else { return nil }
        return ((paddedHeight - kernelHeight) / strideHeight + 1, (paddedWidth - kernelWidth) / strideWidth + 1)
    }

    public var description: String {
        var text = "\(kernelHeight)×\(kernelWidth)"
        if strideHeight != 1 || strideWidth != 1 { text += " stride \(strideHeight)×\(strideWidth)" }
        if isPadded { text += " padding \(padTop),\(padLeft),\(padBottom),\(padRight)" }
        return text
    }

    /// The kernels' description of this window over an `[batch, channels, height, width]` input.
    ///
    /// - Precondition: the window fits the input.
    func problem(input shape: [Int]) -> WindowProblem {
        precondition(shape.count == 4, "sliding window: the input must be [batch, channels, height, width], got \(shape)")
        guard let output = outputSize(height: shape[2], width: shape[3]) else {
            preconditionFailure("sliding window \(self) does not fit an input of \(shape[2])×\(shape[3])")
        }
        return WindowProblem(window: backprop_window(
            batch: shape[0], channels: shape[1], height: shape[2], width: shape[3],
            kernel_height: kernelHeight, kernel_width: kernelWidth, stride_height: strideHeight, stride_width: strideWidth,
            pad_top: padTop, pad_left: padLeft, output_height: output.height, output_width: output.width))
    }
}

/// A sliding window over one batch, as the C kernels take it.
public struct WindowProblem: Sendable {
    let window: backprop_window

    /// The rows of the unfolded input: channels × kernel height × kernel width.
    var columnRows: Int { window.channels * window.kernel_height * window.kernel_width }
    /// The columns of the unfolded input: batch × output height × output width.
    var columnCount: Int { window.batch * outputPlane }
    /// Output positions per image.
    var outputPlane: Int { window.output_height * window.output_width }
    /// The output's shape for `channels` output channels.
    func outputShape(channels: Int) -> [Int] { [window.batch, channels, window.output_height, window.output_width] }
}

/// The kernels that slide a window over a batch (`Sources/CKernels/WindowKernels.c`).
public enum WindowKernel: Sendable {
    /// Unfolds the input `a` into columns (im2col).
    case unfold
    /// Folds columns `a` back onto the input, adding overlaps (the adjoint of ``unfold``).
    case fold
    /// Max pooling of `a`.
    case maxPool
    /// The gradient of max pooling: input `a`, upstream gradient `b`.
    case maxPoolGradient
    /// Average pooling of `a`.
    case averagePool
    /// The gradient of average pooling: upstream gradient `a`.
    case averagePoolGradient
}
