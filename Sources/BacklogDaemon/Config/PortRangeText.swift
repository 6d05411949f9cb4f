/// Port ranges as the config file and the flags write them: `80` or `8000-8099`.
public enum PortRangeText {
    public static func parse(_ text: String) -> ClosedRange<UInt16>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let ports = parts.map { p -> UInt16? in
            guard !p.isEmpty, p.count <= 5, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(p), v <= 65535 else { return nil }
            return UInt16(v)
        }
        guard let lo = ports.first!, let hi = ports.last!, lo <= hi else { return nil }
        return lo...hi
    }
}
