/// The sizes Backprop accepts from files and flags, checked before anything of that size is allocated, so that a
/// header or a flag cannot make it ask for more memory than the input really holds.
///
/// | limit | value | checked where |
/// | --- | --- | --- |
/// | ``samples`` | 67 108 864 | IDX files, CSV rows |
/// | ``features`` | 1 048 576 inputs per sample | IDX image size, CSV inputs, network inputs |
/// | ``csvColumns`` | 65 536 | every CSV row, while parsing |
/// | ``classes`` | 4096 | model files |
/// | ``csvClasses`` | 1000 | a CSV label column |
/// | ``csvCategories`` | 1000 per column | a CSV text feature (one input per category) |
/// | ``layers`` | 4096 | model files, `--layers` |
/// | ``parameters`` | 268 435 456 (1 GiB of Float32 weights) | model files, `--layers` |
///
/// They are far above what this tool trains well on one machine; a real need beyond one is a reason to raise it
/// here (and to say why in the change).
public enum Limits {
    /// The most samples a dataset may hold (the shuffle's permutation alone takes 8 bytes per sample).
    public static let samples = 1 << 26
    /// The most inputs per sample.
    public static let features = 1 << 20
    /// The most fields a CSV row may have.
    public static let csvColumns = 1 << 16
    /// The most classes a model may have (a confusion matrix has classes² counts).
    public static let classes = 4096
    /// The most distinct labels a CSV label column may have for classification.
    public static let csvClasses = 1000
    /// The most distinct values a CSV text feature column may have: it becomes one input per value.
    public static let csvCategories = 1000
    /// The most values one sample may have at any layer of a model (its input or any layer's output).
    public static let sampleValues = 1 << 26
    /// The most layers a model may have.
    public static let layers = 4096
    /// The most parameters (weights and biases) a model may have.
    public static let parameters = 1 << 28
}
