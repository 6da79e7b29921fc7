import Testing
@testable import Scheduler
