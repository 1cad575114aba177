import BackpropKit
import BackpropTestSupport
import Foundation
import Testing

@Suite("Model")
struct ModelTests {
    private static func temporaryFile(_ name: String) -> URL {
        URL(filePath: CommandRunner.temporaryDirectory("model-\(name)")).appending(path: "\(name).safetensors")
    }

    /// Layer descriptions build the same network, weights included, as the same layers written for `--model`.
    @Test func layerDescriptionsBuildWhatTheCommandLineTextBuilds() throws {
        let described = try Model<Float>(inputShape: [1, 8, 8], layers: [
            .convolution(4, kernel: 3, padding: .same, activation: .relu), .batchNorm, .maxPool(2), .flatten,
            .dropout(0.5), .dense(3, activation: .leakyReLU(slope: 0.2)), .dense(2),
        ], seed: 5)
        let written: Sequential<Float> = try ModelDescription(
            parsing: "conv 4 3x3 same relu, batchnorm, maxpool 2, flatten, dropout 0.5, dense 3 leaky-relu 0.2, dense 2"
        ).build(inputShape: [1, 8, 8], seed: 5)
        #expect(described.network.parameters == written.parameters)
        #expect(described.network.layers.map(\.description) == written.layers.map(\.description))
    }

    /// A description out of range is refused with the layer and what was expected.
    @Test func badDescriptionsNameTheLayer() {
        #expect(throws: ModelDescriptionError.self) { try Model<Float>(inputShape: [4], layers: [.dense(3), .dropout(1.5)]) }
        do {
            _ = try Model<Float>(inputShape: [4], layers: [.dense(3), .dropout(1.5)])
        } catch {
            #expect("\(error)".contains("layer 2 'dropout 1.5'"), "\(error)")
        }
        #expect(throws: ModelDescriptionError.self) { try Model<Float>(inputShape: [4], layers: [.convolution(2, kernel: 3)]) }
    }

    /// Class names that do not fit the outputs are refused on save, and nothing is written.
    @Test func saveRefusesClassNamesThatDoNotFit() throws {
        var model = try Model<Float>(inputShape: [2], layers: [.dense(2)], seed: 1)
        model.compile(loss: .softmaxCrossEntropy)
        model.classNames = ["a", "b", "c"]
        let file = Self.temporaryFile("inconsistent")
        #expect(throws: ModelFileError.inconsistent("3 class names for a model with 2 outputs")) { try model.save(to: file) }
        #expect(!FileManager.default.fileExists(atPath: file.path))
        let untrained = try Model<Float>(inputShape: [2], layers: [.dense(2)])
        #expect(throws: ModelFileError.self) { try untrained.save(to: file) }
    }

    /// Inputs of the wrong width are an error naming both shapes.
    @Test func predictChecksTheInputShape() throws {
        var model = try Model<Float>(inputShape: [3], layers: [.dense(2)], seed: 1)
        model.compile(loss: .softmaxCrossEntropy)
        #expect(throws: PredictionError.shape([4, 2], expected: [3])) { try model.predict(Tensor<Float>.zeros(shape: [4, 2])) }
        let prediction = try model.predict(Tensor<Float>.zeros(shape: [4, 3]))
        #expect(prediction.classes?.count == 4 && prediction.probabilities?.shape == [4, 2])
    }

    /// A model trained with a loss of one's own is read back when the reader is given that loss, and refused with
    /// the loss's name otherwise.
    @Test func customLossesComeBackWhenGiven() throws {
        let x = Tensor<Float>(shape: [32, 1], elements: (0..<32).map { Float($0) / 16 - 1 })
        let data = try InMemoryDataset(features: x, values: 3 * x)
        var model = try Model<Float>(inputShape: [1], layers: [.dense(8, activation: .tanh), .dense(1)], seed: 3)
        model.compile(loss: LogCosh(), optimizer: Adam(learningRate: 0.05))
        try model.fit(data, epochs: 5, batchSize: 8)
        let file = Self.temporaryFile("log-cosh")
        try model.save(to: file)
        do {
            _ = try Model<Float>.load(from: file)
            Issue.record("a file naming an unknown loss was read")
        } catch {
            #expect("\(error)".contains("unknown loss 'log-cosh'"), "\(error)")
        }
        let restored = try Model<Float>.load(from: file, losses: [LogCosh()])
        #expect(restored.loss is LogCosh && restored.network.parameters == model.network.parameters)
        #expect(restored.history == model.history && restored.history.count == 5)
    }

    /// A loss that does not fit the data's targets is refused before training.
    @Test func fitRefusesALossForOtherTargets() throws {
        let data: InMemoryDataset<Float> = BuiltinDataset.moons.make(seed: 1)
        var model = try Model<Float>(inputShape: [2], layers: [.dense(2)], seed: 1)
        model.compile(loss: .meanSquaredError)
        #expect(throws: TrainingError.self) { try model.fit(data, epochs: 1) }
    }

    /// A loaded model's feature scaling is applied to the raw inputs given to predict, and a regression target's
    /// standardisation undone on its outputs.
    @Test func predictAppliesALoadedModelsPreprocessing() throws {
        let network = try Model<Float>(inputShape: [2], layers: [.dense(1)], seed: 4).network
        let scaling = FeatureScaling.standardize(mean: [1, -2], standardDeviation: [2, 0.5])
        let info = ModelInfo(task: .regression, classNames: nil, featureNames: ["a", "b"], preprocessing: scaling,
                             loss: .halfSquaredError, labelColumn: "y", training: nil,
                             targetScaling: TargetScaling(mean: 10, standardDeviation: 3))
        let file = Self.temporaryFile("scaled")
        try SavedModel(model: network, info: info).write(to: file.path)
        let model = try Model<Float>.load(from: file)
        let raw = Tensor<Float>([[3, -1], [1, -2]])
        let scaled = Tensor<Float>([[1, 2], [0, 0]])
        let expected = network(scaled) * 3 + 10
        let predicted = try model.predict(raw).outputs
        #expect((predicted - expected).norm < 1e-5, "\(predicted) vs \(expected)")
        try model.save(to: file)
        #expect(try Model<Float>.load(from: file).predict(raw).outputs == predicted)
    }
}
