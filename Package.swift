// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Backprop",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BackpropCore", targets: ["BackpropCore"]),
        .library(name: "BackpropNN", targets: ["BackpropNN"]),
        .library(name: "BackpropData", targets: ["BackpropData"]),
        .library(name: "BackpropKit", targets: ["BackpropKit"]),
        .executable(name: "backprop", targets: ["backprop"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        // `swift package generate-documentation` (the DocC catalogs; built and checked in CI).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // Tensors, CPU kernels, reverse-mode autodiff and gradient checking.
        .target(
            name: "BackpropCore",
            dependencies: ["CProcessor", "CKernels", .product(name: "RealModule", package: "swift-numerics")]
        ),
        // Prefetch and spin-wait hints to the processor (two C built-ins Swift does not expose).
        .target(name: "CProcessor"),
        // Optimizer update rules, whole-buffer sums and byte conversion, compiled for AVX-512, AVX2 and baseline x86-64
        // (Swift targets the baseline only).
        .target(name: "CKernels"),
        // Layers, losses, optimizers, schedules, the training loop and metrics.
        .target(name: "BackpropNN", dependencies: ["BackpropCore", "CProcessor"]),
        // Datasets (built-in generators, IDX files) feeding the trainer.
        .target(name: "BackpropData", dependencies: ["BackpropNN", "CZlib", .product(name: "RealModule", package: "swift-numerics")]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // The Keras-level API (`Model`: build, compile, fit, evaluate, predict, save, load), re-exporting the three
        // modules below it so that one import is enough.
        .target(name: "BackpropKit", dependencies: ["BackpropCore", "BackpropNN", "BackpropData"]),
        // A per-thread heap-allocation counter for the benchmark and the allocation tests (interposes malloc).
        .target(name: "CAllocationCounter"),
        // The command-line tool.
        .executableTarget(
            name: "backprop",
            dependencies: [
                "BackpropCore", "BackpropNN", "BackpropData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Release-build benchmarks (GEMM throughput, training workloads). Never run as tests.
        .executableTarget(
            name: "BackpropBenchmarks",
            dependencies: ["BackpropCore", "BackpropNN", "BackpropData", "CAllocationCounter"]
        ),
        .target(name: "BackpropTestSupport", dependencies: ["BackpropCore"], path: "Tests/BackpropTestSupport"),
        .testTarget(name: "BackpropCoreTests", dependencies: ["BackpropCore", "BackpropTestSupport"]),
        .testTarget(name: "BackpropNNTests", dependencies: ["BackpropNN", "BackpropData", "BackpropTestSupport", "CAllocationCounter"]),
        .testTarget(name: "BackpropDataTests", dependencies: ["BackpropData", "BackpropNN", "BackpropTestSupport"]),
        .testTarget(name: "BackpropKitTests", dependencies: ["BackpropKit", "BackpropTestSupport"]),
        // The benchmark's reproduction of the numpy reference's random draws, against numpy's own values.
        .testTarget(name: "BackpropBenchmarksTests", dependencies: ["BackpropBenchmarks"]),
        // End-to-end tests of the built `backprop` tool.
        .testTarget(name: "BackpropCLITests", dependencies: ["backprop", "BackpropData", "BackpropNN", "BackpropTestSupport"],
                    exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
