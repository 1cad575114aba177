// `import BackpropKit` is all a program needs: tensors and autodiff, layers, losses, optimizers and the trainer,
// datasets and model files come with it.
@_exported import BackpropCore
@_exported import BackpropData
@_exported import BackpropNN
