/// The one place the suite's version is written: `--version` of every binary, batond's
/// `baton_build_info` metric and the status answers print it.
public enum BatonVersion {
    /// Semantic version of the suite (all binaries share it: they are released together).
    public static let version = "0.22.0"
}
