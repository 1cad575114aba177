import BackpropCore
import BackpropData
import BackpropNN
import Testing

@Suite("Training with bfloat16 products")
struct BFloat16TrainingTests {
    static let data: InMemoryDataset<Float> = BuiltinDataset.spirals.make(count: 400, seed: 4)

    static func train(_ precision: MatrixPrecision, epochs: Int = 60) throws -> TrainingResult<Sequential<Float>> {
        var trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01), batchSize: 32, epochs: epochs, seed: 3)
        trainer.precision = precision
        return try trainer.fit(Sequential<Float>.multilayerPerceptron(sizes: [2, 64, 64, 2], activation: .relu, seed: 2), on: data)
    }

    /// A model trained on the instruction is the model trained on the portable path, bit for bit.
    @Test func theInstructionAndThePortablePathTrainTheSameModel() throws {
        guard BFloat16Products.instructionAvailable else {
            print("note: this processor has no AVX512_BF16; the instruction path is not tested here")
            return
        }
        let instruction = try Self.train(.bfloat16(.instruction), epochs: 5)
        let portable = try Self.train(.bfloat16(.portable), epochs: 5)
        #expect(instruction.model.parameters == portable.model.parameters)
    }

    /// bfloat16 products learn what Float32 products learn, and their gradients are Float32's to bfloat16's precision.
    @Test func bfloat16LearnsAsFloat32Does() throws {
        let float32 = try Self.train(.float32)
        let bfloat16 = try Self.train(.bfloat16)
        let accuracy32 = try #require(float32.history.last?.trainingAccuracy)
        let accuracy16 = try #require(bfloat16.history.last?.trainingAccuracy)
        #expect(accuracy16 > 0.95 && Swift.abs(accuracy16 - accuracy32) < 0.03, "\(accuracy16) against \(accuracy32)")
        #expect(float32.model.parameters != bfloat16.model.parameters)

        let model = Sequential<Float>.multilayerPerceptron(sizes: [2, 64, 64, 2], activation: .relu, seed: 2)
        var batch = TrainingBatch<Float>()
        Self.data.fill(&batch, at: Array(0..<128)[...])
        var generator = SeededGenerator(seed: 1)
        var wide = model, narrow = model
        var step32 = TrainingStep(model: model, loss: .softmaxCrossEntropy)
        var step16 = TrainingStep(model: model, loss: .softmaxCrossEntropy, precision: .bfloat16)
        let (_, g32) = step32.valueWithGradient(at: &wide, on: batch, generator: &generator)
        let (_, g16) = step16.valueWithGradient(at: &narrow, on: batch, generator: &generator)
        let errors = g16.relativeDifferences(from: g32)
        for (i, name) in g32.names.enumerated() {
            let error = errors[i]
            #expect(error == Double((g16.tensors[i] - g32.tensors[i]).norm) / Double(g32.tensors[i].norm))
            #expect(error > 0 && error < 0.02, "\(name): relative error \(error)")
        }
        #expect(g32.relativeDifferences(from: g32).allSatisfy { $0 == 0 })
    }

    /// A convolutional network: two convolutions (the second's input gradient is a product too), max pooling,
    /// batch normalisation and a dense layer, on 8×8 images of bars.
    static func convolutionalNetwork() -> Sequential<Float> {
        var g = SeededGenerator(seed: 6)
        return Sequential<Float>(inputShape: [1, 8, 8]) {
            Conv2D(inputChannels: 1, outputChannels: 8, kernelSize: (3, 3), padding: .same, generator: &g)
            ActivationLayer(.relu)
            MaxPool2D(size: 2)
            Conv2D(inputChannels: 8, outputChannels: 16, kernelSize: (3, 3), padding: .same, useBias: false, generator: &g)
            BatchNorm(features: 16)
            ActivationLayer(.relu)
            Flatten()
            Dense(inputSize: 256, outputSize: 2, generator: &g)
        }
    }

    static func trainConvolutional(_ precision: MatrixPrecision, epochs: Int) throws -> TrainingResult<Sequential<Float>> {
        var trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: Adam(learningRate: 0.01), batchSize: 32, epochs: epochs, seed: 3)
        trainer.precision = precision
        return try trainer.fit(convolutionalNetwork(), on: ConvolutionalTrainingTests.bars(count: 256, seed: 8))
    }

    /// The convolutional step takes bfloat16 products too: it learns, the instruction and the portable path train the
    /// same model bit for bit, and one step's gradients are Float32's to bfloat16's precision.
    @Test func convolutionalNetworksTrainOnBFloat16Products() throws {
        let trained = try Self.trainConvolutional(.bfloat16, epochs: 6)
        let accuracy = try #require(trained.history.last?.trainingAccuracy)
        #expect(accuracy > 0.95, "\(accuracy)")
        if BFloat16Products.instructionAvailable {
            let instruction = try Self.trainConvolutional(.bfloat16(.instruction), epochs: 2)
            let portable = try Self.trainConvolutional(.bfloat16(.portable), epochs: 2)
            #expect(instruction.model.parameters == portable.model.parameters)
        }

        let model = Self.convolutionalNetwork()
        var batch = TrainingBatch<Float>()
        ConvolutionalTrainingTests.bars(count: 64, seed: 9).fill(&batch, at: Array(0..<64)[...])
        var step32 = TrainingStep(model: model, loss: .softmaxCrossEntropy)
        var step16 = TrainingStep(model: model, loss: .softmaxCrossEntropy, precision: .bfloat16)
        #expect(step16.isFused && step16.supportsPrecision)
        var wide = model, narrow = model
        var g32 = SeededGenerator(seed: 1), g16 = SeededGenerator(seed: 1)
        let (_, reference) = step32.valueWithGradient(at: &wide, on: batch, generator: &g32)
        let (_, gradients) = step16.valueWithGradient(at: &narrow, on: batch, generator: &g16)
        // Measured: 4.2 % for the first convolution (its weight gradient sums 2 048 products of δ and pixels per weight,
        // which largely cancel, so the sum's relative error is well above one operand's 2⁻⁹), 2.4 % for the second,
        // 0.4–0.5 % for batch normalisation's scale and the dense layer.
        for (name, error) in zip(gradients.names, gradients.relativeDifferences(from: reference)) where name.hasSuffix("weight") {
            #expect(error > 0 && error < 0.08, "\(name): relative error \(error)")
        }
    }

    @Test func otherModelsSayTheyTrainInFloat32() throws {
        var trainer = Trainer(loss: .meanSquaredError, optimizer: Adam(), batchSize: 32, epochs: 1, seed: 1)
        trainer.precision = .bfloat16
        let data: InMemoryDataset<Float> = BuiltinDataset.sine.make(count: 64, seed: 1)
        #expect(throws: TrainingError.self) {
            try trainer.fit(Sequential<Float>.multilayerPerceptron(sizes: [1, 8, 1], activation: .tanh, seed: 1), on: data)
        }
    }
}
