/// Bounds on the values a member accepts from the wire, in one place.
///
/// Terms come from other members, and a member that sends an absurd term (a bug, a damaged
/// peer, a stolen member certificate) must not make this one trap or carry the term on: terms
/// never go down, so one adopted 2^64 − 1 would make every later `term + 1` of every member
/// overflow, restart after restart. A received term may therefore run at most `termJumpMax`
/// ahead of what this member knows, and never past `termMax`; a message breaking either
/// bound is refused whole (dropping a message is always safe: the network may lose it) and
/// logged (`ElectionEvent.messageRefused`). "What this member knows" is its own term or the
/// highest term two other members have each sent (`TicketInstance.corroboratedTerm`): a hostile
/// member can push the members it reaches ahead by `termJumpMax` a message, and a member it
/// did not reach must still follow them; one member alone cannot vouch for itself. A refusal
/// asks the others for their state, so that the corroborating answers come. Safety never
/// depends on terms (TicketInstance's opening comment), so refusing is only ever a question
/// of liveness.
public enum ElectionLimits {
    /// How far a received term may run ahead of this member's own term. One election moves
    /// the term by one; a member cut off for a long time falls behind by the number of
    /// elections held meanwhile, nowhere near 2^32.
    public static let termJumpMax: UInt64 = 1 << 32

    /// The highest term a member adopts or starts a campaign in. At one election per
    /// microsecond a cluster reaches it after 146,000 years; a hostile member pushing by
    /// `termJumpMax` per message needs 2^30 accepted messages. Far enough below 2^64 that
    /// `term + 1` and `term + termJumpMax` never overflow. At the ceiling a member campaigns
    /// no more (logged), it does not trap.
    public static let termMax: UInt64 = 1 << 62

    /// The largest term a member at `known` accepts from the wire.
    public static func acceptedTermMax(known: UInt64) -> UInt64 {
        let (sum, overflow) = known.addingReportingOverflow(termJumpMax)
        return overflow ? termMax : min(sum, termMax)
    }
}
