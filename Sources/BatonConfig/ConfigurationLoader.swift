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
        return try parse(text: String(decoding: bytes, as: UTF8.self), fileName: path)
    }
}
