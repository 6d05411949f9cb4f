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
        let bytes: [UInt8]
        do {
            bytes = try ConfigFileReader.read(file)
        } catch {
            switch error {
            case .system(ENOENT) where path == nil:
                return DaemonConfig()
            case .system(let e):
                throw ConfigError(key: nil, line: nil, "cannot read: \(String(cString: strerror(e)))", file: file)
            case .notRegular(let kind):
                throw ConfigError(key: nil, line: nil, "not a regular file (\(kind))", file: file)
            case .tooLarge:
                throw ConfigError(key: nil, line: nil, "larger than 1 MiB limit (\(ConfigFileReader.limit) bytes)", file: file)
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(key: nil, line: nil, "not UTF-8 text", file: file)
        }
        do {
            return try ConfigFile.parse(text)
        } catch {
            var e = error
            e.file = file
            throw e
        }
    }
}
