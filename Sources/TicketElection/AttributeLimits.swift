/// Bounds on site attributes (booth's geostore, `baton attr set`): what one ticket may hold and
/// what all tickets of a member may hold together.
///
/// Why: attributes come from any member's certificate (`baton -s`), are written to the state
/// journal, and come back whole in one `attr list` reply frame. Unbounded, 1,100 values of
/// 4 KiB made a reply over the 4 MiB frame limit, and the journal brought them back after every
/// restart. With these bounds one ticket's `attr list` stays under 300 KiB, and all of a
/// member's attributes under 4.5 MiB of journal. Checked when set (the request is refused with
/// the limit named) and when a journal is loaded (see `bounded`).
public enum AttributeLimits {
    /// Bytes (UTF-8) of an attribute name; the wire carries at most 255.
    public static let nameBytesMax = 255
    /// Bytes (UTF-8) of an attribute value; the wire carries at most 4096.
    public static let valueBytesMax = 4096
    /// Attributes one ticket may hold.
    public static let perTicketMax = 64
    /// Attributes all tickets of one member may hold together.
    public static let totalMax = 1024

    /// Why `name = value` may not be set on a ticket that holds `ticketCount` attributes (not
    /// counting `name`) while all tickets hold `totalCount`, or nil when it may.
    public static func refusal(name: String, value: String, replacing: Bool, ticketCount: Int, totalCount: Int) -> String? {
        let nameBytes = name.utf8.count
        if nameBytes == 0 { return "an attribute name cannot be empty" }
        if nameBytes > nameBytesMax { return "attribute name of \(nameBytes) bytes is over the limit of \(nameBytesMax)" }
        let valueBytes = value.utf8.count
        if valueBytes > valueBytesMax { return "attribute value of \(valueBytes) bytes is over the limit of \(valueBytesMax)" }
        guard !replacing else { return nil }
        if ticketCount >= perTicketMax {
            return "the ticket already holds \(ticketCount) attributes, the most one ticket may hold (\(perTicketMax)); delete some first"
        }
        if totalCount >= totalMax {
            return "this member already holds \(totalCount) attributes over all tickets, the most it may hold (\(totalMax)); delete some first"
        }
        return nil
    }

    /// What is kept of `attributes` restored from a journal written before these limits (or
    /// by another build): names and values within their sizes, at most `perTicketMax` of them
    /// in name order, and at most `totalBudget` (what the tickets before this one left of
    /// `totalMax`). Dropping an attribute only changes `attr-prereq` outcomes, never a lease or
    /// a promise, so the rest of the ticket's state is kept (refusing the whole journal would
    /// forget its promises and make the member keep quiet for a lease).
    public static func bounded(_ attributes: [String: String], totalBudget: Int) -> (kept: [String: String], dropped: Int) {
        precondition(totalBudget >= 0, "attribute budget \(totalBudget) below zero")
        let room = min(perTicketMax, totalBudget)
        if attributes.count <= room,
            attributes.allSatisfy({ !$0.key.isEmpty && $0.key.utf8.count <= nameBytesMax && $0.value.utf8.count <= valueBytesMax })
        {
            return (attributes, 0)
        }
        var kept: [String: String] = [:]
        for name in attributes.keys.sorted() where kept.count < room {
            let value = attributes[name]!
            if !name.isEmpty, name.utf8.count <= nameBytesMax, value.utf8.count <= valueBytesMax { kept[name] = value }
        }
        precondition(kept.count <= room, "kept \(kept.count) attributes for room \(room)")
        return (kept, attributes.count - kept.count)
    }
}
