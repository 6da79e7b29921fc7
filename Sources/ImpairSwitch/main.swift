#if canImport(Glibc)
import Glibc
#endif
import SeededRandom

// baton-impair: a user-space Ethernet switch that impairs what it forwards (test bed only).
//
// This kernel has no netem, so `scripts/impair-bed` puts no bridge in its hub namespace: this
// program runs there instead, with one AF_PACKET socket per hub port (the hub's ends of the
// members' veth pairs). Every frame that arrives on a port is switched (source addresses
// learnt, unknown and broadcast destinations flooded, so ARP works) and, per copy it sends,
// dropped with probability `loss`, else held back `delay ± jitter` (uniform) and, with
// probability `duplicate`, sent twice (each copy with its own delay). Every draw comes from
// one generator seeded by `--seed`. Frames may overtake each other, as on netem with jitter.
//
// The impairment is read from the control file (`loss 0.25`, `delay 200`, `jitter 100`,
// `duplicate 0.05`, milliseconds; `drop-udp 1` drops all IPv4 UDP, as a TCP-only firewall) at start and again whenever it changes, so a test can grant
// on a clean network and then impair it. Counters are written to `--stats` once a second.
//
// `--zone IFNAME=NAME` puts a port in a zone: frames between two ports of one zone pass at once,
// unimpaired (a site's own LAN), only frames between zones (the sites' links) are impaired.
//
// Usage: baton-impair --port IFNAME [--port IFNAME ...] --control FILE [--stats FILE] [--seed N]
//                     [--zone IFNAME=NAME ...]

struct Impairment: Equatable {
    var loss = 0.0
    var delayMilliseconds = 0.0
    var jitterMilliseconds = 0.0
    var duplicate = 0.0
    /// Drop every IPv4 UDP frame (a firewall that lets only TCP through).
    var dropUDP = false

    /// `key value` lines; unknown keys and bad values are reported and ignored.
    static func parse(_ text: String) -> Impairment {
        var result = Impairment()
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count == 2, let value = Double(words[1]), value >= 0 else {
                if !line.isEmpty && !line.hasPrefix("#") { warn("control: ignored line '\(line)'") }
                continue
            }
            switch words[0] {
            case "loss": result.loss = min(value, 1)
            case "delay": result.delayMilliseconds = value
            case "jitter": result.jitterMilliseconds = value
            case "duplicate": result.duplicate = min(value, 1)
            case "drop-udp": result.dropUDP = value != 0
            default: warn("control: unknown key '\(words[0])'")
            }
        }
        return result
    }
}

struct Held {
    var due: UInt64
    var order: UInt64
    var port: Int
    var bytes: [UInt8]
}

/// A binary min-heap on (due, order): frames leave in due order, ties in arrival order.
struct HeldQueue {
    private(set) var items: [Held] = []
    static let framesMax = 200_000
    var count: Int { items.count }
    var first: Held? { items.first }

    private func less(_ a: Held, _ b: Held) -> Bool { a.due != b.due ? a.due < b.due : a.order < b.order }

    mutating func push(_ item: Held) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Held? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count && less(items[left], items[smallest]) { smallest = left }
            if right < items.count && less(items[right], items[smallest]) { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

struct Counters {
    var received = 0, forwarded = 0, lost = 0, duplicated = 0, overflowed = 0, sendErrors = 0
    var text: String {
        "received \(received) forwarded \(forwarded) lost \(lost) duplicated \(duplicated) overflowed \(overflowed) send-errors \(sendErrors)\n"
    }
}

func warn(_ text: String) {
    let line = "baton-impair: \(text)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

func fail(_ text: String) -> Never {
    warn(text)
    exit(2)
}

func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

func readFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 65_536 {
        let got = fread(&buffer, 1, buffer.count, file)
        if got <= 0 { break }
        bytes.append(contentsOf: buffer[0..<got])
    }
    return String(decoding: bytes, as: UTF8.self)
}

func writeFile(_ path: String, _ text: String) {
    let temporary = path + ".tmp"
    guard let file = fopen(temporary, "w") else { return }
    fputs(text, file)
    fclose(file)
    rename(temporary, path)
}

/// One AF_PACKET socket bound to `name`, non-blocking, not seeing its own sends.
func openPort(_ name: String) -> Int32 {
    let protocolAll = UInt16(0x0003).bigEndian  // ETH_P_ALL: every protocol
    let descriptor = socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(protocolAll))
    guard descriptor >= 0 else { fail("socket(AF_PACKET) for \(name): \(String(cString: strerror(errno))) (root in the hub namespace?)") }
    let index = if_nametoindex(name)
    guard index != 0 else { fail("no interface \(name)") }
    // struct sockaddr_ll (linux/if_packet.h, not in Glibc's module): family u16, protocol
    // be16, ifindex i32, hatype u16, pkttype u8, halen u8, addr [8]u8: 20 bytes.
    var address = [UInt8](repeating: 0, count: 20)
    withUnsafeBytes(of: UInt16(AF_PACKET)) { address.replaceSubrange(0..<2, with: $0) }
    withUnsafeBytes(of: protocolAll) { address.replaceSubrange(2..<4, with: $0) }
    withUnsafeBytes(of: Int32(index)) { address.replaceSubrange(4..<8, with: $0) }
    let bound = address.withUnsafeBytes {
        bind(descriptor, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(20))
    }
    guard bound == 0 else { fail("bind to \(name): \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    // PACKET_VNET_HDR (15): every frame comes with a virtio_net_hdr, which says whether its
    // checksum is still to be filled in (a veth sender leaves it to the "hardware"): we fill
    // it in, since a frame sent on a packet socket is taken as complete.
    guard setsockopt(descriptor, SOL_PACKET, 15, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
        fail("PACKET_VNET_HDR on \(name): \(String(cString: strerror(errno)))")
    }
    // PACKET_IGNORE_OUTGOING (23): what we send on a port is not read back from it.
    _ = setsockopt(descriptor, SOL_PACKET, 23, &one, socklen_t(MemoryLayout<Int32>.size))
    var size: Int32 = 4 << 20
    _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    return descriptor
}

// MARK: - Main

var portNames: [String] = []
var controlPath = ""
var statsPath: String?
var seed: UInt64 = 1
var zoneOf: [String: String] = [:]
var arguments = Array(CommandLine.arguments.dropFirst())
while !arguments.isEmpty {
    let option = arguments.removeFirst()
    guard !arguments.isEmpty else { fail("\(option) needs a value") }
    let value = arguments.removeFirst()
    switch option {
    case "--port": portNames.append(value)
    case "--control": controlPath = value
    case "--stats": statsPath = value
    case "--seed":
        guard let number = UInt64(value) else { fail("--seed \(value) is not a number") }
        seed = number
    case "--zone":
        let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { fail("--zone \(value): want IFNAME=NAME") }
        zoneOf[parts[0]] = parts[1]
    default: fail("unknown option \(option); usage: baton-impair --port IFNAME ... --control FILE [--stats FILE] [--seed N] [--zone IFNAME=NAME ...]")
    }
}
guard portNames.count >= 2, portNames.count <= 64 else { fail("give 2 to 64 --port interfaces") }
guard !controlPath.isEmpty else { fail("--control FILE is required") }
if let stray = zoneOf.keys.sorted().first(where: { !portNames.contains($0) }) { fail("--zone \(stray)=…: \(stray) is not a --port") }
/// Per port index, its zone (nil: none, every frame impaired).
let zones = portNames.map { zoneOf[$0] }

// A child inherits its parent's blocked signals (a test runner's threads block most): unblock
// them, so that SIGTERM from impair-bed's teardown ends this process.
var noSignals = sigset_t()
sigemptyset(&noSignals)
sigprocmask(SIG_SETMASK, &noSignals, nil)
signal(SIGTERM, SIG_DFL)

let ports = portNames.map(openPort)
var pollSet = ports.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
var generator = SplitMix64(seed: seed)
var held = HeldQueue()
var order: UInt64 = 0
var counters = Counters()
/// virtio_net_hdr: flags u8, gso_type u8, hdr_len u16, gso_size u16, csum_start u16, csum_offset u16.
let virtioHeaderBytes = 10
let virtioHeaderNone = [UInt8](repeating: 0, count: virtioHeaderBytes)

/// Completes a checksum the sender left to the device (VIRTIO_NET_HDR_F_NEEDS_CSUM): the
/// one's complement sum from `start` to the end, stored at `start + offset` (the field holds
/// the pseudo-header sum already). False when the offsets do not fit the frame.
func completeChecksum(_ bytes: inout [UInt8], start: Int, offset: Int) -> Bool {
    guard start >= 14, start + offset + 2 <= bytes.count else { return false }
    var sum: UInt32 = 0
    var index = start
    while index + 1 < bytes.count {
        sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
        index += 2
    }
    if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
    while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
    var folded = ~UInt16(sum)
    // UDP sends a computed zero as all ones; TCP does not care.
    if folded == 0 { folded = 0xFFFF }
    bytes[start + offset] = UInt8(folded >> 8)
    bytes[start + offset + 1] = UInt8(folded & 0xFF)
    return true
}
var learnt: [UInt64: Int] = [:]
var controlText = readFile(controlPath) ?? ""
var impairment = Impairment.parse(controlText)
var nextControlCheck = monotonicNanoseconds()
var nextStats = monotonicNanoseconds()
var frame = [UInt8](repeating: 0, count: 65_600)
let readsPerPortMax = 256

func macKey(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    var key: UInt64 = 0
    for index in offset..<(offset + 6) { key = key << 8 | UInt64(bytes[index]) }
    return key
}

warn("forwarding between \(portNames.joined(separator: ", ")) (seed \(seed)): loss \(impairment.loss), delay \(impairment.delayMilliseconds) ± \(impairment.jitterMilliseconds) ms, duplicate \(impairment.duplicate)")

while true {
    let now = monotonicNanoseconds()
    if now >= nextControlCheck {
        nextControlCheck = now + 100_000_000
        if let text = readFile(controlPath), text != controlText {
            controlText = text
            impairment = Impairment.parse(text)
            warn("impairment now: loss \(impairment.loss), delay \(impairment.delayMilliseconds) ± \(impairment.jitterMilliseconds) ms, duplicate \(impairment.duplicate), drop UDP \(impairment.dropUDP)")
        }
    }
    if let statsPath, now >= nextStats {
        nextStats = now + 1_000_000_000
        writeFile(statsPath, counters.text)
    }
    // Send what is due.
    while let first = held.first, first.due <= now {
        let item = held.pop()!
        let sent = (virtioHeaderNone + item.bytes).withUnsafeBytes { send(ports[item.port], $0.baseAddress, $0.count, 0) }
        if sent < 0 { counters.sendErrors += 1 } else { counters.forwarded += 1 }
    }
    var waitMilliseconds: Int32 = 50
    if let first = held.first {
        let until = first.due > now ? first.due - now : 0
        waitMilliseconds = Int32(min(UInt64(50), (until + 999_999) / 1_000_000))
    }
    let ready = poll(&pollSet, nfds_t(pollSet.count), waitMilliseconds)
    guard ready > 0 else { continue }
    for (index, entry) in pollSet.enumerated() where entry.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
        // The interface went away (its namespace was deleted): nothing left to switch.
        fail("port \(portNames[index]) failed (revents \(entry.revents)); stopping")
    }
    for (ingress, descriptor) in ports.enumerated() where pollSet[ingress].revents & Int16(POLLIN) != 0 {
        for _ in 0..<readsPerPortMax {
            let got = frame.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard got >= virtioHeaderBytes + 14 else { break }
            counters.received += 1
            var bytes = Array(frame[virtioHeaderBytes..<got])
            if frame[1] != 0 {
                // A GSO super-frame: impair-bed keeps one segment per frame, so this is unexpected.
                counters.sendErrors += 1
                continue
            }
            if frame[0] & 1 != 0 {
                let start = Int(frame[6]) | Int(frame[7]) << 8, offset = Int(frame[8]) | Int(frame[9]) << 8
                guard completeChecksum(&bytes, start: start, offset: offset) else {
                    counters.sendErrors += 1
                    continue
                }
            }
            let source = macKey(bytes, at: 6)
            if bytes[6] & 1 == 0 { learnt[source] = ingress }
            let destination = macKey(bytes, at: 0)
            var egress: [Int]
            if bytes[0] & 1 == 0, let port = learnt[destination] {
                egress = port == ingress ? [] : [port]
            } else {
                egress = Array(ports.indices.filter { $0 != ingress })
            }
            // IPv4 (ethertype 0x0800), protocol 17 (UDP) at byte 9 of the IP header.
            if impairment.dropUDP, bytes.count > 23, bytes[12] == 0x08, bytes[13] == 0x00, bytes[23] == 17 {
                counters.lost += 1
                continue
            }
            let arrived = monotonicNanoseconds()
            for port in egress {
                if let zone = zones[ingress], zones[port] == zone {
                    // Inside one zone: no loss, no delay, in order.
                    order += 1
                    held.push(Held(due: arrived, order: order, port: port, bytes: bytes))
                    continue
                }
                if impairment.loss > 0 && generator.unit() < impairment.loss {
                    counters.lost += 1
                    continue
                }
                let copies = impairment.duplicate > 0 && generator.unit() < impairment.duplicate ? 2 : 1
                if copies == 2 { counters.duplicated += 1 }
                for _ in 0..<copies {
                    let low = max(0, impairment.delayMilliseconds - impairment.jitterMilliseconds)
                    let high = impairment.delayMilliseconds + impairment.jitterMilliseconds
                    let delay = low + (high - low) * generator.unit()
                    guard held.count < HeldQueue.framesMax else {
                        counters.overflowed += 1
                        continue
                    }
                    order += 1
                    held.push(Held(due: arrived + UInt64(delay * 1_000_000), order: order, port: port, bytes: bytes))
                }
            }
        }
    }
}
