/// A binary min-heap of events ordered by simulated real time, ties broken by insertion
/// order, so the run is the same every time.
/// The kernel's queue (Simulation) and GeoWorld's use it; no two entries tie (the sequence is unique).
public struct EventQueue<Event> {
    private struct Entry {
        let time: Int64
        let sequence: UInt64
        let event: Event
        func precedes(_ other: Entry) -> Bool {
            time != other.time ? time < other.time : sequence < other.sequence
        }
    }

    private var heap: [Entry] = []
    private var sequence: UInt64 = 0
    public static var capacityMax: Int { 1_000_000 }

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }
    public var nextTime: Int64? { heap.first?.time }

    public init() {}

    public mutating func push(_ event: Event, at time: Int64) {
        precondition(heap.count < Self.capacityMax, "event queue over \(Self.capacityMax) entries: runaway simulation")
        sequence += 1
        heap.append(Entry(time: time, sequence: sequence, event: event))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    public mutating func pop() -> (time: Int64, event: Event)? {
        guard !heap.isEmpty else { return nil }
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = parent * 2 + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count && heap[left].precedes(heap[smallest]) { smallest = left }
                if right < heap.count && heap[right].precedes(heap[smallest]) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return (top.time, top.event)
    }
}
