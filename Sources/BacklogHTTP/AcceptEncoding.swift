/// Whether a client takes gzip: `Accept-Encoding` lists `gzip` (or `*`) with a
/// q-value above 0 (RFC 9110 §12.5.3). Prometheus sends `gzip`.
enum AcceptEncoding {
    static func acceptsGzip(_ values: [String]) -> Bool {
        var gzip: Double?
        var star: Double?
        for item in HeaderItem.items(values) {
            if item.token == "gzip" || item.token == "x-gzip" { gzip = item.q } else if item.token == "*" { star = item.q }
        }
        return (gzip ?? star ?? 0) > 0
    }
}
