/// A Pacemaker score: an integer clamped to +/- INFINITY (1 000 000), with Pacemaker's
/// saturating addition (INFINITY + -INFINITY = -INFINITY).
public struct Score: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let infinityValue = 1_000_000
    public static let infinity = Score(infinityValue)
    public static let minusInfinity = Score(-infinityValue)
    public static let zero = Score(0)

    public let value: Int

    public init(_ value: Int) {
        self.value = min(max(value, -Score.infinityValue), Score.infinityValue)
    }

    /// Parses "INFINITY", "+INFINITY", "-INFINITY" and integers; nil for anything else.
    public init?(parsing text: String) {
        let text = text.trimmed
        switch text.uppercased() {
        case "INFINITY", "+INFINITY": self = .infinity
        case "-INFINITY": self = .minusInfinity
        default:
            guard let value = Int(text) ?? (text.hasPrefix("+") ? Int(text.dropFirst()) : nil) else { return nil }
            self.init(value)
        }
    }

    public var isInfinite: Bool { abs(value) >= Score.infinityValue }

    public static func + (lhs: Score, rhs: Score) -> Score {
        if lhs.value <= -infinityValue || rhs.value <= -infinityValue { return .minusInfinity }
        if lhs.value >= infinityValue || rhs.value >= infinityValue { return .infinity }
        return Score(lhs.value + rhs.value)
    }

    public static func < (lhs: Score, rhs: Score) -> Bool { lhs.value < rhs.value }

    public var description: String {
        switch value {
        case Score.infinityValue: return "INFINITY"
        case -Score.infinityValue: return "-INFINITY"
        default: return String(value)
        }
    }
}
