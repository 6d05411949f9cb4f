import Foundation

/// Certificates made with `openssl` for one test, in a directory of its own:
/// a CA, a server certificate for 127.0.0.1/localhost (serial 0x1001), a client
/// certificate (SAN DNS:scraper.test, URI spiffe://test/scraper), an expired
/// client certificate, and a client certificate from another CA. EC P-256 keys.
struct TestPKI {
    let dir: String
    var ca: String { "\(dir)/ca.crt" }
    var serverCert: String { "\(dir)/server.crt" }
    var serverKey: String { "\(dir)/server.key" }
    var client: (cert: String, key: String) { ("\(dir)/client.crt", "\(dir)/client.key") }
    var expired: (cert: String, key: String) { ("\(dir)/expired.crt", "\(dir)/client.key") }
    var wrongCA: (cert: String, key: String) { ("\(dir)/wrong.crt", "\(dir)/wrong.key") }

    init() throws {
        dir = temporaryPath("pki")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try makeCA("ca", "backlogd test CA")
        try makeCA("other-ca", "another CA")
        try issue("server", by: "ca", serial: "0x1001", ext: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth")
        try issue("client", by: "ca", serial: "0x2001",
                  ext: "subjectAltName=DNS:scraper.test,URI:spiffe://test/scraper\nextendedKeyUsage=clientAuth")
        try issue("wrong", by: "other-ca", serial: "0x3001", ext: "subjectAltName=DNS:scraper.test\nextendedKeyUsage=clientAuth")
        try makeExpired()
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    func newKey(_ name: String) throws {
        try run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "\(dir)/\(name).key"])
    }

    private func makeCA(_ name: String, _ cn: String) throws {
        try newKey(name)
        try run(["openssl", "req", "-x509", "-new", "-key", "\(dir)/\(name).key", "-out", "\(dir)/\(name).crt",
                 "-days", "30", "-subj", "/CN=\(cn)"])
    }

    /// A certificate for `name` (a new key, or the existing one with `keepKey`) signed by `ca`.
    func issue(_ name: String, by ca: String = "ca", serial: String, ext: String, keepKey: Bool = false) throws {
        if !keepKey { try newKey(name) }
        try ext.write(toFile: "\(dir)/\(name).ext", atomically: true, encoding: .utf8)
        try run(["openssl", "req", "-new", "-key", "\(dir)/\(name).key", "-out", "\(dir)/\(name).csr", "-subj", "/CN=\(name)"])
        try run(["openssl", "x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", "\(dir)/\(ca).crt", "-CAkey", "\(dir)/\(ca).key",
                 "-set_serial", serial, "-days", "30", "-extfile", "\(dir)/\(name).ext", "-out", "\(dir)/\(name).crt"])
    }

    /// The client's key in a certificate that expired in 2020 (`openssl ca` sets both dates).
    private func makeExpired() throws {
        try "".write(toFile: "\(dir)/index.txt", atomically: true, encoding: .utf8)
        try "4001\n".write(toFile: "\(dir)/serial", atomically: true, encoding: .utf8)
        try """
            [ca]
            default_ca = test
            [test]
            database = \(dir)/index.txt
            serial = \(dir)/serial
            new_certs_dir = \(dir)
            default_md = sha256
            policy = anything
            copy_extensions = copy
            unique_subject = no
            [anything]
            commonName = supplied
            """.write(toFile: "\(dir)/ca.cnf", atomically: true, encoding: .utf8)
        try run(["openssl", "ca", "-batch", "-notext", "-config", "\(dir)/ca.cnf", "-cert", ca, "-keyfile", "\(dir)/ca.key",
                 "-in", "\(dir)/client.csr", "-out", "\(dir)/expired.crt", "-startdate", "20200101000000Z",
                 "-enddate", "20200201000000Z"])
    }
}
