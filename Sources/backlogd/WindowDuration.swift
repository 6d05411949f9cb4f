import ArgumentParser
import BacklogDaemon

/// `--window`: how long `--once` samples; 0 (a single dump) up to an hour.
struct WindowDuration: ExpressibleByArgument, Sendable {
    var seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
    }

    init?(argument: String) {
        guard let v = DurationText.seconds(argument), v <= 3600 else { return nil }
        seconds = v
    }

    var defaultValueDescription: String { "1s" }
}
