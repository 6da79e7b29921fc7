import CIB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The configuration on disk, as Pacemaker keeps it (lib/cib/cib_file.c
/// `cib_file_write_with_digest`): `cib.xml` beside `cib.xml.sig` (its on-disk digest, 32 hex
/// digits, no newline), the previous pair kept as `cib-N.raw` / `cib-N.raw.sig` (hard links,
/// N from `cib.last`, wrapping at `backupsMax`), the status section never written.
///
/// Pure part: `onDiskDocument` (what is written) and `verify` (what a read pair must satisfy).
/// Shell: `save` (temporary file, fsync, rename, fsync of the directory: a crash leaves the
/// old pair or the new one, and at worst a new `cib.xml` beside the old `.sig`, which `load`
/// refuses and `loadNewestGood` steps over to the backup) and `load`.
public struct CIBStore: Sendable {
    public let directory: String
    public let fileName: String
    /// Backups kept (Pacemaker keeps 100).
    public let backupsMax: Int
    /// Files above this are refused before reading.
    public static let fileBytesMax = XMLLimits.documentBytesMax

    public init(directory: String, fileName: String = "cib.xml", backupsMax: Int = 20) {
        precondition(backupsMax >= 1 && backupsMax <= 10_000, "CIBStore: backupsMax \(backupsMax) outside 1...10000")
        precondition(!fileName.contains("/"), "CIBStore: fileName is a name inside the directory")
        self.directory = directory
        self.fileName = fileName
        self.backupsMax = backupsMax
    }

    public var path: String { directory + "/" + fileName }
    public var signaturePath: String { path + ".sig" }
    var sequencePath: String { directory + "/cib.last" }
    func backupPath(_ sequence: Int) -> String { directory + "/cib-\(sequence).raw" }

    // MARK: Pure part

    /// What goes to disk: no status section, num_updates 0, and `cib-last-written` when given
    /// (Pacemaker's `cib_file_prepare_xml`; the caller passes the time, this does not read a clock).
    public static func onDiskDocument(_ root: XMLElement, lastWritten: String? = nil) -> XMLElement {
        var document = root
        document.children.removeAll { $0.name == "status" }
        document["num_updates"] = "0"
        if let lastWritten { document["cib-last-written"] = lastWritten }
        precondition(!document.children.contains { $0.name == "status" }, "the status section is never written")
        return document
    }

    /// Checks a read pair and returns the document, with an empty `<status/>` added as
    /// Pacemaker does at load. `file` names the file in errors.
    public static func verify(text: [UInt8], signature: [UInt8], file: String) throws(CIBStoreError) -> XMLElement {
        guard !text.isEmpty else { throw CIBStoreError(.corrupt("the file is empty"), file: file) }
        let root: XMLElement
        do { root = try XMLCodec.parse(bytes: text) } catch {
            throw CIBStoreError(.corrupt("not readable as XML: \(error)"), file: file)
        }
        guard root.name == "cib" else { throw CIBStoreError(.corrupt("the root element is <\(root.name)>, not <cib>"), file: file) }
        let expected = String(decoding: signature, as: UTF8.self).trimmingWhitespace()
        let computed = CIBDigest.onDisk(root)
        guard expected.lowercased() == computed else {
            throw CIBStoreError(.digestMismatch(expected: expected, computed: computed), file: file)
        }
        var document = root
        if !document.children.contains(where: { $0.name == "status" }) {
            document.children.append(XMLElement(name: "status"))
        }
        return document
    }

    // MARK: Shell

    /// Writes the configuration of `root` durably; the pair it replaces becomes the newest backup.
    public func save(_ root: XMLElement, lastWritten: String? = nil) throws(CIBStoreError) {
        let document = Self.onDiskDocument(root, lastWritten: lastWritten)
        let text = Array(XMLCodec.serialize(document).utf8)
        let digest = CIBDigest.onDisk(document)
        try backUpCurrent()
        let temporaryText = try writeTemporary(text)
        let temporarySignature = try writeTemporary(Array(digest.utf8))
        try rename(temporaryText, to: path)
        try rename(temporarySignature, to: signaturePath)
        try syncDirectory()
    }

    /// The document in `cib.xml`, verified against `cib.xml.sig`.
    public func load() throws(CIBStoreError) -> XMLElement {
        try load(path)
    }

    /// `cib.xml` if it verifies, else the newest backup that does (the errors of those
    /// skipped are returned too). Throws the error of `cib.xml` when nothing verifies.
    public func loadNewestGood() throws(CIBStoreError) -> (document: XMLElement, file: String, skipped: [CIBStoreError]) {
        var skipped = [CIBStoreError]()
        do { return (try load(path), path, []) } catch { skipped.append(error) }
        let next = readSequence()
        for step in 1...backupsMax {
            let sequence = ((next - step) % backupsMax + backupsMax) % backupsMax
            let file = backupPath(sequence)
            guard access(file, F_OK) == 0 else { continue }
            do { return (try load(file), file, skipped) } catch { skipped.append(error) }
        }
        throw skipped[0]
    }

    private func load(_ file: String) throws(CIBStoreError) -> XMLElement {
        let text = try Self.readFile(file)
        let signature = try Self.readFile(file + ".sig")
        return try Self.verify(text: text, signature: signature, file: file)
    }

    /// Hard-links the current pair to the next backup name (Pacemaker's `cib_file_backup`).
    private func backUpCurrent() throws(CIBStoreError) {
        guard access(path, F_OK) == 0 else { return }
        let sequence = readSequence()
        let backup = backupPath(sequence)
        unlink(backup)
        unlink(backup + ".sig")
        guard link(path, backup) == 0 || errno == ENOENT else { throw CIBStoreError(.system("link to \(backup)", errno), file: path) }
        guard link(signaturePath, backup + ".sig") == 0 || errno == ENOENT else {
            throw CIBStoreError(.system("link to \(backup).sig", errno), file: signaturePath)
        }
        let temporary = try writeTemporary(Array(String((sequence + 1) % backupsMax).utf8))
        try rename(temporary, to: sequencePath)
        try syncDirectory()
    }

    func readSequence() -> Int {
        guard let bytes = try? Self.readFile(sequencePath),
              let value = Int(String(decoding: bytes, as: UTF8.self).trimmingWhitespace()),
              value >= 0, value < backupsMax else { return 0 }
        return value
    }

    private func writeTemporary(_ bytes: [UInt8]) throws(CIBStoreError) -> String {
        var template = Array((directory + "/cib.XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        let name = String(cString: template)
        guard descriptor >= 0 else { throw CIBStoreError(.system("mkstemp", errno), file: name) }
        defer { close(descriptor) }
        fchmod(descriptor, 0o600)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                let code = errno
                unlink(name)
                throw CIBStoreError(.system("write", code), file: name)
            }
            written += result
        }
        guard fsync(descriptor) == 0 else {
            let code = errno
            unlink(name)
            throw CIBStoreError(.system("fsync", code), file: name)
        }
        return name
    }

    private func rename(_ from: String, to: String) throws(CIBStoreError) {
        guard Glibc.rename(from, to) == 0 else {
            let code = errno
            unlink(from)
            throw CIBStoreError(.system("rename from \(from)", code), file: to)
        }
    }

    private func syncDirectory() throws(CIBStoreError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { throw CIBStoreError(.system("open", errno), file: directory) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw CIBStoreError(.system("fsync", errno), file: directory) }
    }

    static func readFile(_ file: String) throws(CIBStoreError) -> [UInt8] {
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CIBStoreError(errno == ENOENT ? .missing : .system("open", errno), file: file)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw CIBStoreError(.system("fstat", errno), file: file) }
        guard Int(status.st_size) <= fileBytesMax else {
            throw CIBStoreError(.corrupt("\(status.st_size) bytes, over \(fileBytesMax)"), file: file)
        }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var filled = 0
        while filled < bytes.count {
            let result = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if result < 0 && errno == EINTR { continue }
            guard result >= 0 else { throw CIBStoreError(.system("read", errno), file: file) }
            if result == 0 { break }   // shrank while reading
            filled += result
        }
        return Array(bytes[0..<filled])
    }
}

/// Why the configuration could not be saved or loaded, naming the file.
public struct CIBStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case missing
        /// Empty, not XML, not a CIB, or too large.
        case corrupt(String)
        /// The document's on-disk digest is not the one in its `.sig` file.
        case digestMismatch(expected: String, computed: String)
        /// A system call failed (its name and errno).
        case system(String, Int32)
    }

    public var kind: Kind
    public var file: String

    public init(_ kind: Kind, file: String) {
        self.kind = kind
        self.file = file
    }

    public var description: String {
        switch kind {
        case .missing: return "\(file): no such file"
        case .corrupt(let why): return "\(file) is corrupt: \(why)"
        case .digestMismatch(let expected, let computed):
            return "\(file) does not match its signature \(file).sig (digest \(computed), signature \(expected.isEmpty ? "empty" : expected))"
        case .system(let call, let code): return "\(file): \(call) failed: \(String(cString: strerror(code)))"
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
