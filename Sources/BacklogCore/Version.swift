/// backlogd's version, reported by --version, build_info and the JSON document.
public enum BacklogdVersion {
    public static let current = "0.1.0"
}
