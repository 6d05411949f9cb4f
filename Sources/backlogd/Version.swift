/// backlogd's version, reported by --version, build_info and the JSON document.
enum BacklogdVersion {
    static let current = "0.1.0"
}
