import BacklogCore

/// Runs `--once`'s collection (async: one actor per namespace) from the
/// synchronous command.
enum OnceRun {
    static func collect(_ namespaces: [WatchedNamespace], window: Double, settings: CollectorSettings,
                        unreadable: Int?) throws(NetnsError) -> Publication {
        try BlockingWait.run {
            await OnceCollection.collect(namespaces, window: window, settings: settings, unreadable: unreadable)
        }
    }
}
