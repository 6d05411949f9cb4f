import Foundation
import Testing

/// deploy/kubernetes and deploy/Containerfile as far as this machine can check them
/// (no Kubernetes, no container engine here): Tests/Scripts/validate_kubernetes.py
/// loads every manifest and checks their structure against the repo — mounts
/// against volumes, capabilities against the systemd unit's, args against the
/// daemon's flags, PodMonitor selector and port against the DaemonSet, COPY
/// sources tracked by git, the entrypoint the product built, EXPOSE the port.
@Suite struct KubernetesManifestTests {
    static var repo: String { DebianPackage.repoRoot }

    @Test func manifestsAndContainerfileHoldTogether() throws {
        let r = try run(["/usr/bin/python3", "\(Self.repo)/Tests/Scripts/validate_kubernetes.py", Self.repo], check: false)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.hasPrefix("ok: "), "\(r.stdout)")
    }
}
