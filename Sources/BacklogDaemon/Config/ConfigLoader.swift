#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BacklogCore

/// Finds and reads the config file as CONTRACT.md says: a file named with
/// `--config` must exist; the default one is read only if it exists.
public enum ConfigLoader {
    public static func load(path: String?) throws(ConfigError) -> DaemonConfig {
        let file = path ?? DaemonConfig.defaultPath
        // Only the default file may be missing: open(2)'s ENOENT, not other errors.
        guard let text = try Self.text(of: file, missingIsFine: path == nil) else { return DaemonConfig() }
        do {
            return try ConfigFile.parse(text)
        } catch {
            var e = error
            e.file = file
            throw e
        }
    }

    /// A config file's text: a regular file (or /dev/null) of at most 1 MiB, UTF-8.
    package static func text(of file: String) throws(ConfigError) -> String {
        try text(of: file, missingIsFine: false)!
    }

    private static func text(of file: String, missingIsFine: Bool) throws(ConfigError) -> String? {
        guard let bytes = try bytes(of: file, missingIsFine: missingIsFine) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(key: nil, line: nil, "not UTF-8 text", file: file)
        }
        return text
    }

    /// A file the config names (a certificate, a key): read as the config is, bounded.
    package static func bytes(of file: String, missingIsFine: Bool = false) throws(ConfigError) -> [UInt8]? {
        do {
            return try ConfigFileReader.read(file)
        } catch {
            switch error {
            case .system(ENOENT) where missingIsFine:
                return nil
            case .system(let e):
                throw ConfigError(key: nil, line: nil, "cannot read: \(String(cString: strerror(e)))", file: file)
            case .notRegular(let kind):
                throw ConfigError(key: nil, line: nil, "not a regular file (\(kind))", file: file)
            case .tooLarge:
                throw ConfigError(key: nil, line: nil, "larger than 1 MiB limit (\(ConfigFileReader.limit) bytes)", file: file)
            }
        }
    }
}
