import Synchronization

private let issued = Atomic<Int>(0)

/// 1, 2, 3, … for this test process: with its pid, names that no other run uses
/// (namespaces, containers).
func nextUniqueNumber() -> Int {
    issued.add(1, ordering: .relaxed).newValue
}
