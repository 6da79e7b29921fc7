import Glibc

/// A command's argv and envp as exec wants them (NULL-terminated arrays of C strings), built
/// in one allocation: the pointers first, then every string's bytes. Built once for a command
/// run again and again (`ChildProcessSpec.prepared()`: the executor's recurring monitors), or
/// once per spawn otherwise (one malloc instead of a strdup per string).
///
/// `@unchecked Sendable`: the block is written only in `init`, before the object is shared,
/// and only read afterwards (by the runner's thread, through `argv`/`envp`, during a spawn);
/// it is freed in `deinit`, when no reference (and so no reader) is left.
final class CommandBlock: @unchecked Sendable {
    let argv: UnsafePointer<UnsafeMutablePointer<CChar>?>
    let envp: UnsafePointer<UnsafeMutablePointer<CChar>?>
    /// What makes these strings unusable (a NUL inside one, a bad environment name), or nil.
    let problem: String?
    private let storage: UnsafeMutableRawPointer

    /// The environment is sorted by name (the same order on every run).
    init(arguments: [String], environment: [String: String]) {
        let entries = environment.sorted { $0.key < $1.key }
        var problem: String?
        var bytes = 0
        for argument in arguments { bytes += argument.utf8.count + 1 }
        for (name, value) in entries {
            bytes += name.utf8.count + value.utf8.count + 2
            if problem == nil && (name.isEmpty || name.utf8.contains(UInt8(ascii: "="))) {
                problem = "an environment name that is empty or contains '='"
            }
        }
        let pointerCount = arguments.count + 1 + entries.count + 1
        let pointerBytes = pointerCount * MemoryLayout<UnsafeMutablePointer<CChar>?>.stride
        storage = UnsafeMutableRawPointer.allocate(byteCount: pointerBytes + bytes, alignment: MemoryLayout<UnsafeMutableRawPointer>.alignment)
        let pointers = storage.bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: pointerCount)
        var text = (storage + pointerBytes).bindMemory(to: CChar.self, capacity: bytes)
        var index = 0
        var nulInside = false
        func put(_ string: String) {
            for byte in string.utf8 {
                if byte == 0 { nulInside = true }
                text.pointee = CChar(bitPattern: byte)
                text += 1
            }
        }
        func end() {
            text.pointee = 0
            text += 1
        }
        for argument in arguments {
            pointers[index] = text
            index += 1
            put(argument)
            end()
        }
        pointers[index] = nil
        index += 1
        let environmentStart = index
        for (name, value) in entries {
            pointers[index] = text
            index += 1
            put(name)
            text.pointee = CChar(UInt8(ascii: "="))
            text += 1
            put(value)
            end()
        }
        pointers[index] = nil
        argv = UnsafePointer(pointers)
        envp = UnsafePointer(pointers + environmentStart)
        if nulInside { problem = "a NUL byte inside an argument, path or environment entry" }
        self.problem = problem
    }

    deinit { storage.deallocate() }
}
