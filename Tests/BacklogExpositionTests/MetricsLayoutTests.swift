@testable import BacklogExposition
import BacklogCore
import Testing

/// One MetricsLayout serves both formats: they differ only in family headers
/// (and OpenMetrics' `# EOF`, added by the caller); a chunk's signature follows
/// its text, so a renderer that keeps chunks by signature never serves stale lines.
@Suite struct MetricsLayoutTests {
    static func layout(_ p: Publication) -> MetricsLayout {
        var labels = LabelTable()
        return MetricsLayout(p, version: "t", labels: &labels)
    }

    @Test func oneLayoutGivesEveryFormat() {
        let p = GoldenFixture.publication()
        let l = Self.layout(p)
        for format in ExpositionFormat.allCases {
            #expect(String(decoding: l.bytes(format) + format.end, as: UTF8.self) == MetricsRenderer.render(p, version: "t", format: format))
        }
        var headers = 0
        for part in l.parts {
            let text = l.bytes(part, .text), om = l.bytes(part, .openMetrics)
            if case .header = part {
                headers += 1
            } else {
                #expect(text == om, "only headers differ between the formats")
            }
            var appended: [UInt8] = [1]
            l.append(part, .openMetrics, to: &appended)
            #expect(appended == [1] + om, "append writes after what is there")
        }
        #expect(headers > 20)
    }

    @Test func signaturesFollowTheText() {
        let before = Self.layout(GoldenFixture.publication())
        let again = Self.layout(GoldenFixture.publication())
        let chunks = { (l: MetricsLayout) in l.parts.compactMap { if case .chunk(let c) = $0 { c } else { nil } } }
        #expect(chunks(before).map(\.signature) == chunks(again).map(\.signature), "the same snapshot, the same signatures")
        var s = GoldenFixture.namespace("host")
        var listeners = s.listeners
        listeners[0].queueLength += 1
        s = Snapshot(netns: "host", timestamp: s.timestamp, windowSeconds: s.windowSeconds, listeners: listeners, netstat: s.netstat,
                     sysctls: s.sysctls, sources: s.sources, findings: s.findings)
        let after = Self.layout(Publication(snapshots: [s, GoldenFixture.namespace("blue")], process: GoldenFixture.publication().process))
        var changed = 0
        for (a, b) in zip(chunks(before), chunks(after)) where a.key == b.key {
            if a.signature != b.signature {
                changed += 1
                #expect(before.text(a) != after.text(b))
            } else {
                #expect(before.text(a) == after.text(b), "an equal signature is equal text")
            }
        }
        #expect(changed >= 1, "the queue length's chunk changed")
    }

    @Test func chunksHoldAtMostMaxChunkListeners() {
        var many: [Listener] = []
        for i in 0..<2500 {
            let port = UInt16(10_000 + i), inode = UInt32(1000 + i), cookie = UInt64(i)
            many.append(Listener(family: .inet, address: "10.0.0.1", port: port, inode: inode, cookie: cookie, queueLength: 0, queueMax: 128))
        }
        let p = Publication(snapshots: [Snapshot(timestamp: 1, windowSeconds: 15, listeners: many, netstat: nil, sysctls: [:], sources: [])])
        let l = Self.layout(p)
        for part in l.parts {
            if case .chunk(let c) = part { #expect(c.members.count <= MetricsLayout.maxChunk) }
        }
        #expect(String(decoding: l.bytes(.text), as: UTF8.self) == MetricsRenderer.render(p, version: "t"))
    }
}
