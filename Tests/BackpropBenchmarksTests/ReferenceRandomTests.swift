@testable import BackpropBenchmarks
import Testing

/// `ReferenceRandom` against values printed by numpy 2.4 itself: `np.random.default_rng(0).uniform(-1, 1, 3)` and
/// `rng = np.random.default_rng(1); rng.permutation(10); rng.permutation(60000)[:5]`.
@Suite("The numpy reference's random draws")
struct ReferenceRandomTests {
    @Test func uniformDrawsMatchNumpy() {
        var random = ReferenceRandom(seed: 0)
        let draws = (0..<3).map { _ in random.uniform(-1, 1) }
        #expect(draws == [0.2739233746429086, -0.4604265724722594, -0.9180529521276106])
    }

    @Test func permutationsMatchNumpy() {
        var random = ReferenceRandom(seed: 1)
        #expect(random.permutation(10) == [8, 4, 7, 0, 1, 2, 5, 9, 6, 3])
        #expect(Array(random.permutation(60000).prefix(5)) == [54196, 56724, 26951, 36652, 42568])
    }
}
