import ArgumentParser
import ChildProcess
import Foundation

/// `baton pki`: the certificates Baton's members need, for admins who have no PKI of their own
/// (what booth-keygen and `pcs qdevice` do for booth and corosync-qnetd): a CA that signs member
/// certificates and nothing else, one certificate per member with the member's name as CN and
/// SAN, and a look at what a certificate says and when it runs out. Done by the system's
/// `openssl` command (Debian's OpenSSL 3), EC P-256 keys, keys mode 0600.
struct PkiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Make a member CA, issue member certificates, show a certificate's names and expiry.",
        subcommands: [Ca.self, Issue.self, Show.self])

    /// openssl with arguments; its stderr in the error when it fails.
    static func openssl(_ arguments: [String]) async throws -> String {
        let runner = try ChildProcessRunner(concurrencyMax: 1)
        defer { runner.shutdown() }
        let outcome = await runner.run(ChildProcessSpec(
            executable: "/usr/bin/openssl", arguments: arguments, environment: ["PATH": "/usr/bin:/bin"], timeout: .seconds(60)))
        guard case .exited(0) = outcome.exit else {
            let reason = outcome.problem ?? outcome.standardErrorText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw PkiFailure("openssl \(arguments.first ?? "") failed (\(outcome.exit)): \(reason)")
        }
        return outcome.standardOutputText
    }

    struct PkiFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs `body`; a failure is one `baton: …` line and exit 1.
    static func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let failure as PkiFailure {
            FileHandle.standardError.write(Data("baton: \(failure)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// A new empty file only its owner can read, for openssl to write a private key into: the
    /// key is never readable by others, not even between its writing and a chmod.
    static func createPrivateFile(_ path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw PkiFailure("\(path): cannot create: \(String(cString: strerror(errno)))") }
        close(descriptor)
    }

    static func refuseExisting(_ paths: [String]) throws {
        if let existing = paths.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            throw PkiFailure("\(existing) exists: not replaced (remove it first if you mean to)")
        }
    }

    struct Ca: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a CA for member certificates: DIR/ca.pem (copy to every member) and DIR/ca.key (keep it off the members).")
        @Option(help: "Where to write ca.pem and ca.key (created, mode 0700).") var dir: String
        @Option(help: "The CA's common name.") var name = "Baton member CA"
        @Option(help: "Days the CA is valid.") var days = 3650

        func run() async throws {
            try await reporting {
                let (certificate, key) = (dir + "/ca.pem", dir + "/ca.key")
                try refuseExisting([certificate, key])
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                try createPrivateFile(key)
                _ = try await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
                _ = try await openssl([
                    "req", "-x509", "-new", "-key", key, "-days", "\(days)", "-subj", "/CN=\(name)", "-out", certificate,
                    "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ])
                print("CA: \(certificate) (give it to every member as tls-ca), key \(key) (keep it off the members)")
            }
        }
    }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a member certificate: NAME as CN and SAN DNS, for TLS client and server, signed by the CA.")
        @Argument(help: "The member's name, as `name=` in baton.conf says it (site-a, arbitrator, ...).") var member: String
        @Option(help: "The CA's directory (ca.pem, ca.key).") var caDir: String
        @Option(help: "Where to write NAME.pem and NAME.key (default: the CA's directory).") var out: String?
        @Option(help: "Days the certificate is valid.") var days = 825

        func validate() throws {
            guard !member.isEmpty, member.count <= 64, member.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }) else {
                throw ValidationError("member name '\(member)': letters, digits, '-', '.' and '_' only, at most 64")
            }
        }

        func run() async throws {
            try await reporting {
                let directory = out ?? caDir
                let (certificate, key) = ("\(directory)/\(member).pem", "\(directory)/\(member).key")
                try refuseExisting([certificate, key])
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let request = "\(directory)/\(member).csr"
                let extensions = "\(directory)/\(member).ext"
                defer {
                    try? FileManager.default.removeItem(atPath: request)
                    try? FileManager.default.removeItem(atPath: extensions)
                }
                try createPrivateFile(key)
                _ = try await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
                _ = try await openssl(["req", "-new", "-key", key, "-subj", "/CN=\(member)", "-out", request])
                try "subjectAltName=DNS:\(member)\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n"
                    .write(toFile: extensions, atomically: true, encoding: .utf8)
                _ = try await openssl([
                    "x509", "-req", "-in", request, "-CA", "\(caDir)/ca.pem", "-CAkey", "\(caDir)/ca.key", "-CAcreateserial",
                    "-days", "\(days)", "-extfile", extensions, "-out", certificate,
                ])
                print("\(member): \(certificate) (tls-certificate), key \(key) (tls-private-key, mode 0600)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print each certificate's names, issuer and expiry; with --ca, whether it chains to that CA.",
            discussion: "Exit status: 0 all valid, 1 a certificate expired, does not chain to --ca, or cannot be read; 2 one expires within --warn-days.")
        @Argument(help: "Certificates (PEM).") var files: [String]
        @Option(help: "The CA they must chain to.") var ca: String?
        @Option(help: "Warn (exit 2) when a certificate expires within this many days.") var warnDays = 30

        func run() async throws {
            var status: Int32 = 0
            for file in files {
                do {
                    let text = try await openssl(["x509", "-in", file, "-noout", "-subject", "-issuer", "-enddate", "-ext", "subjectAltName",
                                                  "-nameopt", "RFC2253", "-dateopt", "iso_8601"])
                    let fields = PkiCommand.fields(text)
                    let notAfter = fields["notAfter"] ?? ""
                    let daysLeft = PkiCommand.daysLeft(notAfter)
                    var line = "\(file): \(fields["subject"] ?? "?"), names \(fields["names"] ?? "none"), issuer \(fields["issuer"] ?? "?"), expires \(notAfter)"
                    if let daysLeft { line += " (\(daysLeft) days)" }
                    if let ca {
                        let verified = (try? await openssl(["verify", "-CAfile", ca, file])) != nil
                        line += verified ? ", chains to \(ca)" : ", does NOT chain to \(ca)"
                        if !verified { status = 1 }
                    }
                    if let daysLeft, daysLeft < 0 { status = 1 } else if let daysLeft, daysLeft < warnDays, status == 0 { status = 2 }
                    print(line)
                } catch {
                    FileHandle.standardError.write(Data("baton: \(file): \(error)\n".utf8))
                    status = 1
                }
            }
            if status != 0 { throw ExitCode(status) }
        }
    }

    /// `subject=CN=site-a`, `notAfter=2028-12-06 19:49:44Z` and the SAN line after
    /// `X509v3 Subject Alternative Name:` as a dictionary (names: "site-a, 10.0.0.1").
    static func fields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for (index, line) in lines.enumerated() {
            if let equals = line.firstIndex(of: "="), ["subject", "issuer", "notAfter"].contains(String(line[..<equals])) {
                fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
            } else if line.hasPrefix("X509v3 Subject Alternative Name"), index + 1 < lines.count {
                fields["names"] = lines[index + 1].replacingOccurrences(of: "DNS:", with: "").replacingOccurrences(of: "IP Address:", with: "")
            }
        }
        return fields
    }

    /// Whole days from now to an ISO 8601 `YYYY-MM-DD HH:MM:SSZ` (negative: past).
    static func daysLeft(_ notAfter: String) -> Int? {
        let formatter = ISO8601DateFormatter()
        guard let date = formatter.date(from: notAfter.replacingOccurrences(of: " ", with: "T")) else { return nil }
        return Int((date.timeIntervalSinceNow / 86_400).rounded(.down))
    }
}
