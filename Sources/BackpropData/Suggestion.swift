/// "Did you mean …?": the closest of a list of valid words to a mistyped one.
public enum Suggestion {
    /// The candidate nearest to `word` by edit distance (ignoring case), if it is close enough to be a typo: at
    /// most a third of the longer word's letters differ, and at least one letter is shared.
    public static func nearest(to word: String, in candidates: [String]) -> String? {
        let typed = Array(word.lowercased())
        let scored = candidates.map { ($0, distance(typed, Array($0.lowercased()))) }
        guard let (best, cost) = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return cost <= Swift.max(1, Swift.max(typed.count, best.count) / 3) && cost < Swift.max(typed.count, best.count) ? best : nil
    }

    /// Edit distance counting insertions, deletions, substitutions and swaps of neighbours (`lable` → `label` is
    /// one edit): the optimal-string-alignment distance.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        guard !a.isEmpty else { return b.count }
        var beforePrevious: [Int] = []
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = Swift.min(current[j], beforePrevious[j - 2] + 1)
                }
            }
            (beforePrevious, previous) = (previous, current)
        }
        return previous[b.count]
    }
}
