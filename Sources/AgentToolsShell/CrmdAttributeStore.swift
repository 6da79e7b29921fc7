import AgentTools
import Glibc
import LocalSocketClient

/// One request line (and a body) to baton-crmd's admin socket, the whole answer back: what
/// `baton crm …` and the agent tools speak to the node's daemon. An answer that starts with
/// "error: " is thrown.
public enum CrmdSocketClient {
    public static let defaultPath = "/run/baton/crmd.sock"
    /// Answers longer than this are cut off (a CIB of ~60 MB fits).
    public static let answerBytesMax = 512 << 20

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// True when `path` is a unix socket (baton-crmd runs on this node).
    public static func present(_ path: String) -> Bool { LocalSocketClient.present(path) }

    public static func request(_ line: String, body: [UInt8] = [], socket path: String, timeoutSeconds: Double) throws(Failure) -> String {
        let text: String
        do {
            text = try LocalSocketClient.request(line, body: body, socket: path, timeoutSeconds: timeoutSeconds, answerBytesMax: answerBytesMax)
        } catch {
            throw Failure(description: error.description)
        }
        if text.hasPrefix("error: ") {
            throw Failure(description: String(text.dropFirst(7)).trimmingCharacters(in: "\n"))
        }
        return text
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var text = Substring(self)
        while text.last == character { text = text.dropLast() }
        return String(text)
    }
}

/// The agent tools' store when baton-crmd runs on the node: the cluster's attributes as this
/// node's daemon knows them (`attributes`: the table of its CIB, status section included, and
/// this node's name), and a run's changes sent back (`attributes apply`): transient ones go to
/// the DC, which sets them on every node; permanent ones and cluster options become a CIB write.
public struct CrmdAttributeStore: AttributeStore {
    public let socket: String
    public let timeoutSeconds: Double

    public init(socket: String, timeoutSeconds: Double = 30) {
        self.socket = socket
        self.timeoutSeconds = timeoutSeconds
    }

    public func transaction<T>(_ body: (inout AttributeTable) throws -> T) throws -> T {
        let answer: String
        do {
            answer = try CrmdSocketClient.request("attributes", socket: socket, timeoutSeconds: timeoutSeconds)
        } catch {
            throw AttributeStoreError("baton-crmd at \(socket): \(error)")
        }
        let before = try AttributeTable(text: answer)
        var table = before
        let result = try body(&table)
        let changes = AttributeChangeLine.changes(from: before, to: table)
        guard !changes.isEmpty else { return result }
        do {
            _ = try CrmdSocketClient.request("attributes apply", body: Array(AttributeChangeLine.text(changes).utf8), socket: socket,
                                             timeoutSeconds: timeoutSeconds)
        } catch {
            throw AttributeStoreError("baton-crmd at \(socket): \(error)")
        }
        return result
    }
}
