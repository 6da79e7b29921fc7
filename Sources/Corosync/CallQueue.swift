import Dispatch

extension DispatchQueue {
    /// Runs a (briefly) blocking libqb IPC call on this serial queue, never on a Swift
    /// concurrency thread, and resumes the caller with its result.
    func call<T: Sendable>(_ body: @escaping @Sendable () throws(CorosyncError) -> T) async throws(CorosyncError) -> T {
        let result: Result<T, CorosyncError> = await withCheckedContinuation { continuation in
            self.async {
                do throws(CorosyncError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}

/// Copies a C array of `count` elements into a Swift array (empty when the pointer is nil).
func copyArray<T, U>(_ pointer: UnsafePointer<T>?, _ count: Int, _ transform: (T) -> U) -> [U] {
    guard let pointer, count > 0 else { return [] }
    return UnsafeBufferPointer(start: pointer, count: count).map(transform)
}
