extension Duration {
    /// The span in seconds, as a Double: for the figures the lab commands print (rates,
    /// shares of a core, wall times), never for a decision.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }

    /// The span in milliseconds, as a Double (for figures).
    var inMilliseconds: Double { inSeconds * 1000 }
}
