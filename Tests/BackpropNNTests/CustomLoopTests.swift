import BackpropCore
import BackpropData
import BackpropNN
import Testing

@Suite("A training loop of one's own")
struct CustomLoopTests {
    /// The loop the documentation shows, with the trainer's shuffle and dropout generators, ends with the trainer's
    /// weights bit for bit: the same step (fused or graph) and the same update.
    @Test(arguments: ["dense", "graph", "convolutional"])
    func theStandardLoopIsTheTrainersStep(_ kind: String) throws {
        let data: AnyTrainingData<Float>
        var model: Sequential<Float>
        let loss: any Loss
        switch kind {
        case "dense":
            data = AnyTrainingData(BuiltinDataset.spirals.make(count: 96, seed: 1) as InMemoryDataset<Float>)
            model = try ModelDescription(parsing: "dense 16 relu, dense 8 relu, dense 2").build(inputShape: [2], seed: 2)
            loss = .softmaxCrossEntropy
        case "graph":
            data = AnyTrainingData(BuiltinDataset.sine.make(count: 96, seed: 1) as InMemoryDataset<Float>)
            model = try ModelDescription(parsing: "dense 16 tanh, dropout 0.1, dense 1").build(inputShape: [1], seed: 2)
            loss = .meanSquaredError
        default:
            var g = SeededGenerator(seed: 5)
            let images = Tensor<Float>.uniform(shape: [48, 36], in: 0...1, using: &g)
            data = AnyTrainingData(try InMemoryDataset(features: images, labels: (0..<48).map { $0 % 3 }, classCount: 3))
            model = try ModelDescription(parsing: "conv 4 3x3 relu, batchnorm, maxpool 2, flatten, dropout 0.25, dense 3")
                .build(inputShape: [1, 6, 6], seed: 2)
            loss = .softmaxCrossEntropy
        }
        let trainer = Trainer(loss: loss, optimizer: Adam(learningRate: 0.01), batchSize: 16, epochs: 3, seed: 7)
        let trained = try trainer.fit(model, on: data)

        var step = TrainingStep(model: model, loss: loss)
        #expect(step.isFused == (kind != "graph"))
        var optimizer = ModelOptimizer(Adam(learningRate: 0.01), for: model)
        var shuffle = SeededGenerator(seed: 7)
        var dropout = SeededGenerator(seed: 7 ^ 0xD1B5_4A32_D192_ED03)
        for epoch in 1...3 {
            optimizer.epoch = epoch
            for batch in MiniBatches(data, size: 16, order: shuffle.permutation(of: data.count)) {
                let (_, gradients) = step.valueWithGradient(at: &model, on: batch, generator: &dropout)
                optimizer.update(&model, along: gradients)
            }
        }
        #expect(model.parameters == trained.model.parameters, "\(kind)")
        #expect(model.state == trained.model.state, "\(kind)")
    }

    /// The closure form records the graph of any expression; on a plain step it agrees with the fused step.
    @Test func theClosureFormAgreesWithTheFusedStep() throws {
        var model = try ModelDescription(parsing: "dense 8 relu, dense 3").build(inputShape: [4], seed: 3) as Sequential<Float>
        var g = SeededGenerator(seed: 4)
        let x = Tensor<Float>.uniform(shape: [10, 4], in: -1...1, using: &g)
        let labels = (0..<10).map { $0 % 3 }
        let (value, gradients) = valueWithGradient(at: model) { model in SoftmaxCrossEntropy()(model(x), .classes(labels)) }
        var step = TrainingStep(model: model, loss: .softmaxCrossEntropy)
        var batch = TrainingBatch<Float>()
        batch.inputs = x
        batch.targets = .classes(labels)
        let (fusedValue, fused) = step.valueWithGradient(at: &model, on: batch, generator: &g)
        #expect(Swift.abs(Double(value.scalar) - fusedValue) < 1e-6)
        #expect(gradients.names == ["0.weight", "0.bias", "2.weight", "2.bias"])
        for (a, b) in zip(gradients.tensors, fused.tensors) {
            #expect(Double((a - b).norm) <= 1e-5 * Swift.max(Double(a.norm), 1e-3))
        }
        #expect(gradients["2.bias"]?.shape == [3])
    }
}
