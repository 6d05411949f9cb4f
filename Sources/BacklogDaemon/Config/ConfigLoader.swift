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
            bytes = try ProcFile.read(file, limit: 1 << 20)
        } catch let e as ProcFileError where e.errno == ENOENT && path == nil {
            return DaemonConfig()
        } catch {
            throw ConfigError(key: nil, line: nil, "cannot read: \(errorText(error))", file: file)
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

    static func errorText(_ error: any Error) -> String {
        if let e = error as? ProcFileError { return String(cString: strerror(e.errno)) }
        return "\(error)"
    }
}
