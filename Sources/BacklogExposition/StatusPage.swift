import BacklogCore

/// `/` of the daemon: what a person sees without Prometheus. Server-rendered
/// HTML, no script and no external asset; it reloads itself. Every name from the
/// host (process, unit, socket path, namespace, finding text) is untrusted: made
/// printable as everywhere, then HTML-escaped.
public enum StatusPage {
    /// Most listener rows (the fullest and those with findings first); the rest are counted.
    public static let maxRows = 200

    public static func render(_ p: Publication, version: String, refreshSeconds: Int = 5) -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>backlogd</title>
            <style>\(style)</style></head>
            <body><h1>backlogd \(html(version))</h1>

            """
        let listeners = p.snapshots.reduce(0) { $0 + $1.listeners.count }
        let findings = p.snapshots.flatMap(\.findings).filter { $0.severity != .info }
        out += "<p class=\"summary\">\(listeners) listener\(listeners == 1 ? "" : "s") in \(p.snapshots.count) network namespace\(p.snapshots.count == 1 ? "" : "s"); "
        out += findings.isEmpty ? "no findings.</p>\n" : "\(findings.count) finding\(findings.count == 1 ? "" : "s").</p>\n"

        if !findings.isEmpty {
            out += "<ul id=\"findings\">\n"
            for f in findings.sorted(by: { $0.severity > $1.severity }) {
                out += "<li class=\"\(f.severity.rawValue)\"><b>\(f.severity.rawValue)</b> \(text(f.message))</li>\n"
            }
            out += "</ul>\n"
        }

        // Listeners with a warning or critical finding first, then the fullest (each namespace's order kept).
        struct Key: Hashable {
            let netns: String
            let inode: UInt32
        }
        var found: [Key: [Finding]] = [:]
        for s in p.snapshots {
            for f in s.findings where f.severity != .info {
                if let l = f.listener { found[Key(netns: s.netns, inode: l.inode), default: []].append(f) }
            }
        }
        // Indices, not copies: a 5 000-listener host shows 200 rows.
        var flagged: [(s: Int, l: Int, its: [Finding])] = []
        var quiet: [(s: Int, l: Int, its: [Finding])] = []
        for (si, s) in p.snapshots.enumerated() {
            for li in s.fullestFirstOrder {
                let its = found[Key(netns: s.netns, inode: s.listeners[li].inode)] ?? []
                if !its.isEmpty { flagged.append((si, li, its)) } else if quiet.count < maxRows { quiet.append((si, li, [])) }
            }
        }
        let rows = (flagged + quiet).prefix(maxRows).map { (p.snapshots[$0.s], p.snapshots[$0.s].listeners[$0.l], $0.its) }
        out += """
            <table id="listeners"><thead><tr><th>netns</th><th>proto</th><th>address</th><th>fill</th>\
            <th>queue</th><th>max</th><th>peak</th><th>drops</th><th>process</th><th>findings</th></tr></thead>
            <tbody>

            """
        for (s, l, its) in rows {
            let state = l.isFull ? "full" : l.queuePeak > l.queueMax ? "was-full" : "ok"
            let percent = l.queueMax == 0 ? (l.queueLength > 0 ? 100 : 0) : min(100, Int((l.fill * 100).rounded()))
            out += "<tr class=\"\(state)\" data-state=\"\(state)\" data-netns=\"\(text(s.netns))\" data-port=\"\(l.port.map(String.init) ?? "")\">"
            out += "<td>\(text(s.netns))</td><td>\(TableRenderer.proto(l))</td><td>\(text(l.displayAddress))</td>"
            out += "<td class=\"fill\"><div class=\"bar\"><div style=\"width:\(percent)%\"></div></div>\(TableRenderer.fillText(l))</td>"
            out += "<td>\(l.queueLength)</td><td>\(l.queueMax)</td><td>\(l.queuePeak)</td><td>\(text(TableRenderer.dropsText(l, window: s.windowSeconds)))</td>"
            out += "<td class=\"process\">\(l.owner.map { text($0.comm) + " [\($0.pid)]" } ?? "")</td>"
            out += "<td>\(its.map { "<span class=\"\($0.severity.rawValue)\" title=\"\(text($0.message))\">\(text($0.kind))</span>" }.joined(separator: " "))</td></tr>\n"
        }
        out += "</tbody></table>\n"
        if listeners > maxRows {
            out += "<p>\(listeners - maxRows) more listeners not shown: <a href=\"snapshot\">/snapshot</a> has them all.</p>\n"
        }
        out += """
            <p class="links"><a href="metrics">/metrics</a> · <a href="snapshot">/snapshot</a> (JSON, as <code>backlogd --once --format json</code>) · \
            <a href="healthz">/healthz</a> · <code>/probe?port=P[&amp;address=A][&amp;netns=N]</code> (a load balancer's check)</p>
            </body></html>

            """
        return out
    }

    /// Printable (no control or bidirectional characters), then HTML-escaped.
    static func text(_ s: String) -> String { html(PrintableText.escaped(s)) }

    static func html(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static let style = """
        body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.3em}\
        table{border-collapse:collapse}th,td{white-space:nowrap;padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}\
        th:nth-child(-n+3),td:nth-child(-n+3),td.process,td:last-child{text-align:left}\
        .bar{display:inline-block;width:6em;height:.7em;background:#eee;margin-right:.4em}.bar div{height:100%;background:#4a4}\
        tr.full .bar div{background:#c22}tr.was-full .bar div{background:#d90}tr.full{background:#fee}\
        .critical{color:#b00}.warning{color:#a60}li.critical,li.warning{margin:.2em 0}
        """
}
