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
/// ReLU units.
struct GradientReportCallback: Callback {
    var model: Sequential<Float>
    var probe: Tensor<Float>

    mutating func epochEnded<Scalar>(_ report: EpochReport, _ training: inout TrainingControl<Scalar>) throws {
        guard let parameters = training.parameters as? [Tensor<Float>], let state = training.state as? [Tensor<Float>] else { return }
        var current = model
        current.parameters = parameters
        current.state = state
        print(GradientReport(report: report, deadUnits: current.deadUnitFractions(on: probe), model: current).text)
    }
}
