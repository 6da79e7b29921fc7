#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension BatonConfigurationParser {
    /// Files larger than this are not configurations.
    public static let fileBytesMaximum = 4 * 1024 * 1024

    /// Reads the file at `path` and parses it. The only I/O in this module.
    public static func load(path: String) throws(ConfigurationError) -> LoadedConfiguration {
        guard let file = fopen(path, "rb") else {
            throw ConfigurationError(file: path, line: nil, rejection: .unreadableFile(String(cString: strerror(errno))))
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count > 0 { bytes.append(contentsOf: buffer[0..<count]) }
            guard bytes.count <= fileBytesMaximum else {
                throw ConfigurationError(file: path, line: nil, rejection: .unreadableFile("larger than \(fileBytesMaximum) bytes"))
            }
            if count < buffer.count {
                if ferror(file) != 0 {
                    throw ConfigurationError(file: path, line: nil, rejection: .unreadableFile(String(cString: strerror(errno))))
                }
                break
            }
        }
        let loaded = try parse(text: String(decoding: bytes, as: UTF8.self), fileName: path)
        return loaded.resolvingRelativePaths(againstDirectoryOf: path)
    }
}

extension LoadedConfiguration {
    /// TLS file paths that are relative are taken relative to the configuration file's
    /// directory (a daemon's working directory is `/`, which nobody means).
    public func resolvingRelativePaths(againstDirectoryOf configurationPath: String) -> LoadedConfiguration {
        guard let security = configuration.transportSecurity else { return self }
        let directory: String
        if let slash = configurationPath.lastIndex(of: "/") {
            directory = String(configurationPath[...slash])
        } else {
            directory = "./"
        }
        func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : directory + path }
        let resolved = TransportSecurity(
            certificateAuthorityFile: resolve(security.certificateAuthorityFile),
            certificateFile: resolve(security.certificateFile),
            privateKeyFile: resolve(security.privateKeyFile),
            handshakeTimeout: security.handshakeTimeout)
        let old = configuration
        let updated = BatonConfiguration(
            name: old.name, port: old.port, members: old.members, tickets: old.tickets, transportSecurity: resolved,
            identity: old.identity, maximumTimeSkew: old.maximumTimeSkew, siteUser: old.siteUser, siteGroup: old.siteGroup,
            arbitratorUser: old.arbitratorUser, arbitratorGroup: old.arbitratorGroup, debugLevel: old.debugLevel,
            adminFrom: old.adminFrom, clockDriftMaxPartsPerMillion: old.clockDriftMaxPartsPerMillion)
        return LoadedConfiguration(configuration: updated, warnings: warnings)
    }
}
