import ArgumentParser
import BatonConfig
import Foundation

/// `baton migrate-booth`: a booth configuration as Baton's, with the TLS keys booth does not
/// have (BoothMigration). Prints it, or writes it with `--output` (never over a file that exists
/// unless `--force`), and says on stderr what changed and what the admin still has to do.
struct MigrateBoothCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-booth",
        abstract: "Convert a booth configuration (booth.conf) into Baton's: booth-only lines commented out, TLS keys added.",
        discussion: """
            Tickets, timings, handlers, weights and comments are kept as they are; authfile, enable-authfile and \
            transport are commented out (Baton members authenticate with TLS certificates and talk TLS 1.3 over \
            TCP). --name ADDRESS=NAME gives a member the name its certificate carries (else the address is that \
            name). The result is loaded before it is written. Exit status: 0 written, 1 the booth file does not \
            load (the message says where) or the output exists, 64 bad command line.
            """)

    @Argument(help: "The booth configuration (a path, or a name for /etc/booth/NAME.conf).") var booth: String
    @Option(help: "The CA certificate members' certificates must chain to (PEM).") var tlsCa = "/etc/baton/tls/ca.pem"
    @Option(help: "This member's certificate (PEM).") var tlsCertificate = "/etc/baton/tls/member.pem"
    @Option(help: "This member's private key (PEM).") var tlsPrivateKey = "/etc/baton/tls/member.key"
    @Option(name: .long, help: "ADDRESS=NAME: the name the certificate of the member at ADDRESS carries (repeatable).")
    var name: [String] = []
    @Option(name: [.short, .long], help: "Write here instead of standard output (for example /etc/baton/baton.conf).") var output: String?
    @Flag(help: "Replace --output if it exists.") var force = false

    func run() throws {
        let path = booth.contains("/") ? booth : "/etc/booth/\(booth).conf"
        var names: [String: String] = [:]
        for pair in name {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex, pair.index(after: equals) != pair.endIndex else {
                throw ValidationError("--name \(pair): expected ADDRESS=NAME")
            }
            names[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            FileHandle.standardError.write(Data("baton: \(path): cannot read the file\n".utf8))
            throw ExitCode(1)
        }
        let result: BoothMigration.Result
        do {
            result = try BoothMigration.convert(
                String(decoding: data, as: UTF8.self), fileName: path, certificateAuthority: tlsCa, certificate: tlsCertificate,
                privateKey: tlsPrivateKey, names: names)
        } catch {
            FileHandle.standardError.write(Data("baton: \(error)\n".utf8))
            throw ExitCode(1)
        }
        for note in result.notes { FileHandle.standardError.write(Data("baton: \(note)\n".utf8)) }
        guard let output else {
            print(result.text, terminator: "")
            return
        }
        if FileManager.default.fileExists(atPath: output) && !force {
            FileHandle.standardError.write(Data("baton: \(output) exists: not replaced (--force replaces it)\n".utf8))
            throw ExitCode(1)
        }
        do {
            try Data(result.text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            FileHandle.standardError.write(Data("baton: \(output): cannot write: \(error.localizedDescription)\n".utf8))
            throw ExitCode(1)
        }
        FileHandle.standardError.write(Data("baton: wrote \(output); put the CA, certificate and key named in it in place on each member, then start batond\n".utf8))
    }
}
