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
        // Digits and one decimal point only: Double() would also take 0x10 or 1e3.
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let v = Double(number), v * scale <= 3600 else { return nil }
        seconds = v * scale
    }

    var defaultValueDescription: String { "1s" }
}
