// swift-tools-version:6.0
// Coverage-guided fuzzing of Backprop's parsers with libFuzzer. Not part of the library (it needs unsafe flags);
// run it with `bash Fuzz/run.sh [seconds-per-target]`.
import PackageDescription

let package = Package(
    name: "BackpropFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Backprop", path: "backprop-root")],
    targets: [
        .executableTarget(
            name: "FuzzParsers",
            dependencies: [.product(name: "BackpropData", package: "Backprop"), .product(name: "BackpropNN", package: "Backprop")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
