import BackpropKit
import Foundation

/// The README's program (between the markers, without the surrounding function), with what it made returned.
enum ReadmeProgram {
    struct Outcome {
        var model: Model<Float>
        var test: InMemoryDataset<Float>
        var evaluation: Evaluation
        var predictions: Prediction<Float>
        var restored: Model<Float>
    }

    static func run(savingTo file: URL) throws -> Outcome {
        // README begin
        let data: InMemoryDataset<Float> = BuiltinDataset.spirals.make(seed: 7)   // two interleaved spirals
        let (training, test) = data.split(validationFraction: 0.25, seed: 1)

        var model = try Model<Float>(inputShape: [2], layers: [
            .dense(64, activation: .relu), .dense(64, activation: .relu), .dense(2),
        ], seed: 1)
        model.compile(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01))
        try model.fit(training, epochs: 200, batchSize: 32)
        let evaluation = model.evaluate(on: test)                     // loss and accuracy
        let predictions = try model.predict(test.features)            // .classes, .probabilities
        try model.save(to: file)
        let restored = try Model<Float>.load(from: file)
        // README end
        return Outcome(model: model, test: test, evaluation: evaluation, predictions: predictions, restored: restored)
    }
}
