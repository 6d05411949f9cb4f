/// Durations as the config file and the flags write them: `250ms`, `1s`, `2.5s`,
/// `1m`, or bare seconds. Digits and one decimal point only (`0x10`, `1e3` are not).
public enum DurationText {
    public static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(text)
        var scale = 1.0
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            number = text.dropLast(suffix.count)
            scale = factor
            break
        }
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1,
              number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let v = Double(number) else { return nil }
        return v * scale
    }

    /// `250ms`, `15s`: the short form, for logs and `--check-config`.
    public static func text(_ seconds: Double) -> String {
        if seconds < 1, seconds > 0 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds == seconds.rounded() { return "\(Int(seconds))s" }
        return "\(seconds)s"
    }
}
