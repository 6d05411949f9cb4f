#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
@testable import BacklogCore
import BacklogDaemon
import CSockDiag

/// Every harness, by name. Adding one is adding an entry here (and its seeds
/// under fuzz/corpus/NAME/); fuzz/run finds it through `BACKLOGD_FUZZ_HARNESS=list`.
extension Harness {
    static let all: [Harness] = [
        // One inet_diag message as the shim's dump loop hands it over, then the
        // record as the ListenerTable turns it into a listener.
        Harness(name: "tcp-message") { bytes in
            var rec = bd_tcp_record()
            guard bd_parse_tcp_message(bytes.baseAddress, bytes.count, &rec) == 0 else { return }
            check(rec.family == UInt8(AF_INET) || rec.family == UInt8(AF_INET6), "family \(rec.family)")
            check((-1...1).contains(rec.v6only), "v6only \(rec.v6only)")
            let l = ListenerTable.listener(netns: "fuzz", from: rec)
            check(!l.address.isEmpty, "empty address")
        },
        // One unix_diag message, then the record as UnixListenerSource names it.
        Harness(name: "unix-message") { bytes in
            var rec = bd_unix_record()
            guard bd_parse_unix_message(bytes.baseAddress, bytes.count, &rec) == 0 else { return }
            check(Int(rec.path_len) <= Int(BD_UNIX_PATH_MAX), "path_len \(rec.path_len)")
            let l = UnixListenerSource().listener(from: rec)
            check(l.address.utf8.count <= 3 * Int(BD_UNIX_PATH_MAX), "address of \(l.address.utf8.count) bytes")
        },
        // /proc/net/netstat: a second read with the first one's header cache must
        // give the same counters (the cache is what every fast tick uses).
        Harness(name: "netstat") { bytes in
            var cache = NetstatLayoutCache()
            let first = Result { () throws(NetstatParseError) in try NetstatParser.parse(bytes: Array(bytes), cache: &cache) }
            let second = Result { () throws(NetstatParseError) in try NetstatParser.parse(bytes: Array(bytes), cache: &cache) }
            check(first == second, "a cached re-read differs: \(first) vs \(second)")
        },
        // /proc/<pid>/cgroup as OwnerIndex reads it (text, invalid UTF-8 replaced).
        Harness(name: "cgroup") { bytes in
            let (unit, container, path) = CgroupUnit.parseWithPath(String(decoding: bytes, as: UTF8.self))
            if let unit { check(unit.hasSuffix(".service") || unit.hasSuffix(".scope"), "unit \(unit)") }
            if let container { check(container.allSatisfy(\.isHexDigit), "container \(container)") }
            check(unit == nil || path != nil, "a unit without a path")
            // The pod UID, from any line: 32 hex digits, dashed or not, and a path it came from.
            if let pod = KubernetesPod.locate(inCgroup: String(decoding: bytes, as: UTF8.self)) {
                check(pod.uid.filter { $0 != "-" }.count == 32 && pod.uid.allSatisfy { $0 == "-" || $0.isHexDigit }, "uid \(pod.uid)")
                // Only where the kubelet puts pods: kubepods at the root, or above a cgroup namespace's root.
                let first = pod.path.split(separator: "/").first
                check(first == "kubepods" || first == "kubepods.slice" || first == "..", "a pod outside kubepods: \(pod.path)")
            }
        },
        // The config file as ConfigLoader hands it over: UTF-8 text, any content.
        Harness(name: "config") { bytes in
            guard let text = String(validating: bytes, as: UTF8.self) else { return }
            _ = try? ConfigFile.parse(text)
        },
        // Raw request bytes through the HTTP request-head guard (RequestHeadHarness.swift);
        // a few heads' worth, as its caps are small.
        Harness(name: "request-head", maxLength: 1024, run: RequestHeadHarness.run),
        // A balancer's words: /probe's query and the agent's line (ProbeRequestHarness.swift).
        Harness(name: "probe-request", maxLength: 512, run: ProbeRequestHarness.run),
    ]
}
