import BackpropCore
print("backprop — kernels: \(KernelBackend.preferred)")
