import SimulationKernel

/// The generator and the event queue live in the simulation kernel now (one copy); these names
/// keep GeoSimulation's users (the child soak, the tests) as they were.
public typealias SeededGenerator = SimulationKernel.SeededGenerator
typealias EventQueue = SimulationKernel.EventQueue
