import BacklogCore

/// What a per-listener series' labels are made of, in CONTRACT's order: the one
/// definition that the findings' labels, the label text of every per-listener
/// line, and LabelTable's "same labels as last time" comparison all use.
struct ListenerLabels: Equatable, Sendable {
    let netns: String
    let family: AddressFamily
    let address: String
    let port: UInt16?
    let socket: Int
    let process: String?
    let unit: String?

    init(_ l: Listener) {
        netns = l.netns
        family = l.family
        address = l.address
        port = l.port
        socket = l.socket
        process = l.owner?.comm
        unit = l.owner?.unit
    }

    var pairs: [(String, String)] {
        [
            ("netns", netns),
            ("family", family.rawValue),
            ("address", address),
            ("port", port.map(String.init) ?? ""),
            ("socket", String(socket)),
            ("process", process ?? ""),
            ("unit", unit ?? ""),
        ]
    }
}
