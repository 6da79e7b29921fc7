import CCorosync
import Dispatch

/// A node of the configured node list (`nodelist.node.N.*` in cmap).
public struct ClusterNode: Hashable, Sendable, Codable {
    public let nodeID: NodeID
    public let name: String?
    /// ring0_addr … ring7_addr (one per knet link), in link order.
    public let addresses: [String]
}

/// libcmap, read-only: cluster name, node list, local node id, single keys.
///
/// Sendable: only `let`s of Sendable types; every C call runs on the handle's serial queue.
public final class ClusterMap: Sendable {
    static let nodesMax = 1024
    static let linksMax = 8

    private let handle: cmap_handle_t
    private let queue: DispatchQueue

    private init(handle: cmap_handle_t, queue: DispatchQueue) {
        self.handle = handle
        self.queue = queue
    }

    public static func connect(retry: RetryPolicy = RetryPolicy()) async throws(CorosyncError) -> ClusterMap {
        let queue = DispatchQueue(label: "baton.corosync.cmap")
        return try await retryingTryAgain("cmap_initialize", policy: retry) { () async throws(CorosyncError) -> ClusterMap in
            try await queue.call { () throws(CorosyncError) -> ClusterMap in
                var handle: cmap_handle_t = 0
                try check(cmap_initialize(&handle), "cmap_initialize")
                return ClusterMap(handle: handle, queue: queue)
            }
        }
    }

    /// A string key; nil when the key does not exist.
    public func string(_ key: String) async throws(CorosyncError) -> String? {
        let handle = self.handle
        return try await queue.call { () throws(CorosyncError) -> String? in try Self.getString(handle, key) }
    }

    /// An unsigned key of any width up to 32 bits; nil when it does not exist.
    public func uint32(_ key: String) async throws(CorosyncError) -> UInt32? {
        let handle = self.handle
        return try await queue.call { () throws(CorosyncError) -> UInt32? in try Self.getUInt32(handle, key) }
    }

    private static func getString(_ handle: cmap_handle_t, _ key: String) throws(CorosyncError) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        let status = cmap_get_string(handle, key, &value)
        if status == CS_ERR_NOT_EXIST { return nil }
        try check(status, "cmap_get_string(\(key))")
        guard let value else { return nil }
        defer { free(value) }
        return String(cString: value)
    }

    private static func getUInt32(_ handle: cmap_handle_t, _ key: String) throws(CorosyncError) -> UInt32? {
        var value: UInt32 = 0
        let status = cmap_get_uint32(handle, key, &value)
        if status == CS_ERR_NOT_EXIST { return nil }
        if status == CS_ERR_INVALID_PARAM {
            // Stored with another width (nodeid is often uint32, but may be uint8/16 by hand).
            var small: UInt16 = 0
            if cmap_get_uint16(handle, key, &small) == CS_OK { return UInt32(small) }
            var tiny: UInt8 = 0
            if cmap_get_uint8(handle, key, &tiny) == CS_OK { return UInt32(tiny) }
        }
        try check(status, "cmap_get_uint32(\(key))")
        return value
    }

    /// `totem.cluster_name`.
    public func clusterName() async throws(CorosyncError) -> String? { try await string("totem.cluster_name") }

    /// This node's id (`runtime.votequorum.this_node_id`).
    public func localNodeID() async throws(CorosyncError) -> NodeID? {
        try await uint32("runtime.votequorum.this_node_id").map({ NodeID($0) })
    }

    /// The configured node list, in cmap order (at most 1024 nodes).
    public func nodes() async throws(CorosyncError) -> [ClusterNode] {
        let handle = self.handle
        return try await queue.call { () throws(CorosyncError) -> [ClusterNode] in
            var nodes: [ClusterNode] = []
            for index in 0..<ClusterMap.nodesMax {
                let prefix = "nodelist.node.\(index)."
                guard let nodeID = try ClusterMap.getUInt32(handle, prefix + "nodeid") else {
                    // A node without a nodeid ends the list (corosync requires it with knet).
                    break
                }
                var addresses: [String] = []
                for link in 0..<ClusterMap.linksMax {
                    if let address = try ClusterMap.getString(handle, prefix + "ring\(link)_addr") { addresses.append(address) }
                }
                nodes.append(ClusterNode(nodeID: NodeID(nodeID), name: try ClusterMap.getString(handle, prefix + "name"), addresses: addresses))
            }
            return nodes
        }
    }

    /// The keys under `prefix`, in cmap's order (at most `keysMax`; the rest is not listed).
    public func keys(prefix: String) async throws(CorosyncError) -> [String] {
        let handle = self.handle
        return try await queue.call { () throws(CorosyncError) -> [String] in
            var iterator: cmap_iter_handle_t = 0
            try check(cmap_iter_init(handle, prefix, &iterator), "cmap_iter_init(\(prefix))")
            defer { _ = cmap_iter_finalize(handle, iterator) }
            var keys: [String] = []
            var name = [CChar](repeating: 0, count: Int(CMAP_KEYNAME_MAXLEN) + 1)
            while keys.count < ClusterMap.keysMax {
                var length = 0
                var type = CMAP_VALUETYPE_STRING
                let status = cmap_iter_next(handle, iterator, &name, &length, &type)
                if status == CS_ERR_NO_SECTIONS { break }
                try check(status, "cmap_iter_next(\(prefix))")
                keys.append(String(cString: name))
            }
            return keys
        }
    }

    static let keysMax = 1024

    /// Finalizes the handle. Call once; later calls fail with CS_ERR_BAD_HANDLE.
    public func close() async {
        let handle = self.handle
        _ = try? await queue.call { () throws(CorosyncError) in _ = cmap_finalize(handle) }
    }
}
