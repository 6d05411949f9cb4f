import ArgumentParser

/// A duration on the command line: `1s`, `500ms`, `2.5s`, `1m`, or bare seconds.
struct WindowDuration: ExpressibleByArgument, Sendable {
    var seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
    }

    init?(argument: String) {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        var number = Substring(argument)
        var scale = 1.0
        for (suffix, factor) in units where argument.hasSuffix(suffix) {
            number = argument.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let v = Double(number), v.isFinite, v >= 0, v * scale <= 3600 else { return nil }
        seconds = v * scale
    }

    var defaultValueDescription: String { "1s" }
}
