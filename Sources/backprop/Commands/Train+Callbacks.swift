import BackpropCore
import BackpropData
import BackpropNN

/// `--gradcheck-every N`: every N epochs, checks the gradients of sampled parameters against Float64 central
/// differences on a few training samples, and stops training with an error when one fails.
struct GradientCheckCallback: Callback {
    var model: Sequential<Float>
    var data: AnyTrainingData<Float>
    var loss: any Loss
    var every: Int
    var quiet: Bool

    mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) throws {
        guard report.epoch % every == 0, let parameters = training.parameters as? [Tensor<Float>] else { return }
        var current = model
        current.parameters = parameters
        guard let exact = current.converted(to: Double.self) else {
            throw DataError.mismatch("the gradient check needs a model whose every layer can be saved")
        }
        let (x, targets) = data.batch(at: Array(0..<Swift.min(8, data.count)))
        let wide: Targets<Double> = switch targets {
        case .classes(let labels): .classes(labels)
        case .values(let values): .values(values.converted(to: Double.self))
        }
        let results = ModelGradients.check(exact, loss: loss, inputs: x.converted(to: Double.self), targets: wide,
                                           elementsPerParameter: 5, seed: UInt64(report.epoch))
        if let failing = results.first(where: { !($0.report.maxRelativeError < 1e-6) }) {
            throw DataError.mismatch("gradient check failed after epoch \(report.epoch): \(failing.name) has relative error \(failing.report.maxRelativeError) (threshold 1e-6)")
        }
        if !quiet, let worst = results.max(by: { $0.report.maxRelativeError < $1.report.maxRelativeError }) {
            print("  gradient check after epoch \(report.epoch): PASS (max relative error \(worst.report.maxRelativeError) in \(worst.name))")
        }
    }
}

/// `--gradient-report`: after every epoch, prints each layer's gradient and weight norms, update ratio and dead
/// ReLU units; when the products are not Float32, also how far one step's gradients on the probe batch are from a
/// Float32 step's.
struct GradientReportCallback: Callback {
    var model: Sequential<Float>
    var probe: TrainingBatch<Float>
    var loss: any Loss
    var precision: MatrixPrecision

    mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) throws {
        guard let parameters = training.parameters as? [Tensor<Float>], let state = training.state as? [Tensor<Float>] else { return }
        var current = model
        current.parameters = parameters
        current.state = state
        print(GradientReport(report: report, deadUnits: current.deadUnitFractions(on: probe.inputs),
                             precisionErrors: precisionErrors(of: current)).text)
    }

    /// Each parameter's relative difference between a step in ``precision`` and a Float32 step, from the same
    /// parameters on the probe batch with the same dropout masks, by name; empty for Float32.
    private func precisionErrors(of current: Sequential<Float>) -> [String: Double] {
        guard precision != .float32 else { return [:] }
        func gradients(_ precision: MatrixPrecision) -> BackpropNN.Gradients<Float> {
            var step = TrainingStep(model: current, loss: loss, precision: precision)
            var copy = current, generator = SeededGenerator(seed: 0)
            return step.valueWithGradient(at: &copy, on: probe, generator: &generator).gradients
        }
        let reference = gradients(.float32), narrow = gradients(precision)
        return Dictionary(uniqueKeysWithValues: zip(reference.names, narrow.relativeDifferences(from: reference)))
    }
}
