import CKernels

/// A matrix read in place from rows of a larger buffer, never written out: a convolution's unfolded input, whose row
/// for an output pixel is that pixel's window of a channels-last image.
///
/// Element `(r, c)` of the matrix is `base[rowOffsets[r] + segmentOffsets[c / segmentLength] + c % segmentLength]`:
/// each row is `segmentOffsets.count` runs of `segmentLength` contiguous values (a window's kernel rows, each
/// `kernelWidth × channels` values side by side), at the same offsets from every row's start. Products read it
/// with ``GEMM/multiply(_:gathering:from:_:_:)``.
public struct GatheredRows: Sendable, Hashable {
    /// Where each row starts in the buffer.
    public let rowOffsets: [Int]
    /// Where each run of a row starts, from the row's start.
    public let segmentOffsets: [Int]
    /// The values in each run.
    public let segmentLength: Int
    /// One past the largest buffer index the matrix reads: the buffer must hold at least this many values.
    public let extent: Int

    /// Describes a gathered matrix.
    public init(rowOffsets: [Int], segmentOffsets: [Int], segmentLength: Int) {
        precondition(segmentLength > 0 && rowOffsets.allSatisfy { $0 >= 0 } && segmentOffsets.allSatisfy { $0 >= 0 },
                     "GatheredRows: offsets must be non-negative and runs non-empty")
        (self.rowOffsets, self.segmentOffsets, self.segmentLength) = (rowOffsets, segmentOffsets, segmentLength)
        if let lastRow = rowOffsets.max(), let lastRun = segmentOffsets.max() {
            extent = lastRow + lastRun + segmentLength
        } else {
            extent = 0
        }
    }

    /// The matrix's rows.
    public var rows: Int { rowOffsets.count }
    /// The matrix's columns.
    public var columns: Int { segmentOffsets.count * segmentLength }

    /// Calls `body` with the kernels' description of rows `firstRow...` and columns `firstColumn...`.
    func withKernelArguments<R>(firstRow: Int, firstColumn: Int, _ body: (UnsafePointer<backprop_gathered>) -> R) -> R {
        rowOffsets.withUnsafeBufferPointer { rows in
            segmentOffsets.withUnsafeBufferPointer { runs in
                withUnsafePointer(to: backprop_gathered(row_offsets: rows.baseAddress! + firstRow, segment_offsets: runs.baseAddress!,
                                                        segment_length: segmentLength, first_column: firstColumn,
                                                        first_row: firstRow), body)
            }
        }
    }
}

extension WindowProblem {
    /// The unfolded input of this window over channels-last images (`[batch·height·width, channels]`) as rows
    /// gathered in place (the matrix ``Tensor/assignUnfolded(_:_:)`` writes out), or `nil` when the window is padded:
    /// a padded window's rows hold zeros that are not in the images.
    public var unfoldedRows: GatheredRows? {
        let w = window
        guard w.pad_top == 0, w.pad_left == 0, (w.output_height - 1) * w.stride_height + w.kernel_height <= w.height,
              (w.output_width - 1) * w.stride_width + w.kernel_width <= w.width, outputPlane > 0 else { return nil }
        var rows: [Int] = []
        rows.reserveCapacity(columnCount)
        for n in 0..<w.batch {
            for oy in 0..<w.output_height {
                for ox in 0..<w.output_width {
                    rows.append(((n * w.height + oy * w.stride_height) * w.width + ox * w.stride_width) * w.channels)
                }
            }
        }
        return GatheredRows(rowOffsets: rows, segmentOffsets: (0..<w.kernel_height).map { $0 * w.width * w.channels },
                            segmentLength: w.kernel_width * w.channels)
    }
}
