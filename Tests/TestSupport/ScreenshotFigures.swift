/// What a headless browser's PNG screenshot shows, for the status page checks of batond and
/// baton-crmd: its size, how many colours it has (a blank page has a handful) and how many pixels
/// have the pages' green (#d8f5d8: a row drawn as running or granted here). The PNG (8-bit RGB
/// or RGBA) is decoded by python3's zlib with the five PNG filters undone.
public enum ScreenshotFigures {
    static let decoder = """
        import struct, sys, zlib
        data = open(sys.argv[1], "rb").read()
        assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        pos, idat = 8, b""
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + length]
            if kind == b"IHDR": width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if kind == b"IDAT": idat += body
            pos += 12 + length
        channels = {2: 3, 6: 4}[colour]
        raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
        for y in range(height):
            f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b, c = prev[i], prev[i - channels] if i >= channels else 0
                if f == 1: line[i] = (line[i] + a) & 255
                elif f == 2: line[i] = (line[i] + b) & 255
                elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
                elif f == 4:
                    p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            rows.append(line); prev = line
        pixels = [tuple(r[x * channels:x * channels + 3]) for r in rows for x in range(width)]
        print("figures", width, height, len(set(pixels)), sum(1 for p in pixels if p == (0xd8, 0xf5, 0xd8)))
        """

    /// [width, height, colours, green pixels] of the PNG at `path` (empty when it could not be
    /// decoded), the decoder's exit status and its whole output (for a failure's message).
    public static func of(_ path: String, python: String = "/usr/bin/python3") async throws -> (status: Int32, figures: [Int], output: String) {
        let decoded = try await TestChild.run([python, "-c", decoder, path])
        let line = decoded.output.split(separator: "\n").first { $0.hasPrefix("figures ") } ?? ""
        return (decoded.status, line.split(separator: " ").dropFirst().compactMap { Int($0) }, decoded.output)
    }
}
