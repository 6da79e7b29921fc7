import CIB
import Testing
@testable import Scheduler

/// The transition graph: what Pacemaker 2.1.5's crm_simulate -G writes for the same inputs
/// (the expected graphs below are its output, crm_feature_set and numbering aside), the XML
/// writer and reader, and the comparator that conformance relies on.
@Suite struct TransitionGraphTests {
    /// Pacemaker's simple2: one resource, two nodes, nothing known yet.
    static let twoNodesNothingKnown = """
    <cib admin_epoch="0" epoch="1" num_updates="1" dc-uuid="0" have-quorum="false" validate-with="pacemaker-3.0">
      <configuration>
        <crm_config><cluster_property_set id="o">
          <nvpair id="o1" name="stonith-enabled" value="false"/>
          <nvpair id="o2" name="no-quorum-policy" value="ignore"/>
        </cluster_property_set></crm_config>
        <nodes><node id="uuid1" uname="node1" type="member"/><node id="uuid2" uname="node2" type="member"/></nodes>
        <resources><primitive id="rsc1" class="ocf" provider="heartbeat" type="apache"/></resources>
        <constraints/>
      </configuration>
      <status>
        <node_state id="uuid1" ha="active" uname="node1" crmd="online" join="member" expected="member" in_ccm="true"/>
        <node_state id="uuid2" ha="active" uname="node2" crmd="online" join="member" expected="member" in_ccm="true"/>
      </status>
    </cib>
    """

    /// What crm_simulate 2.1.5 -G writes for it.
    static let twoNodesNothingKnownGraph = """
    <transition_graph cluster-delay="60s" stonith-timeout="60s" failed-stop-offset="INFINITY" failed-start-offset="INFINITY" batch-limit="0" transition_id="0">
      <synapse id="0">
        <action_set>
          <rsc_op id="3" operation="start" operation_key="rsc1_start_0" on_node="node1" on_node_uuid="uuid1">
            <primitive id="rsc1" class="ocf" provider="heartbeat" type="apache"/>
            <attributes CRM_meta_on_node="node1" CRM_meta_on_node_uuid="uuid1" CRM_meta_timeout="20000" crm_feature_set="3.16.1"/>
          </rsc_op>
        </action_set>
        <inputs>
          <trigger>
            <rsc_op id="1" operation="monitor" operation_key="rsc1_monitor_0" on_node="node1" on_node_uuid="uuid1"/>
          </trigger>
          <trigger>
            <rsc_op id="2" operation="monitor" operation_key="rsc1_monitor_0" on_node="node2" on_node_uuid="uuid2"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="1">
        <action_set>
          <rsc_op id="2" operation="monitor" operation_key="rsc1_monitor_0" on_node="node2" on_node_uuid="uuid2">
            <primitive id="rsc1" class="ocf" provider="heartbeat" type="apache"/>
            <attributes CRM_meta_on_node="node2" CRM_meta_on_node_uuid="uuid2" CRM_meta_op_target_rc="7" CRM_meta_timeout="20000" crm_feature_set="3.16.1"/>
          </rsc_op>
        </action_set>
        <inputs/>
      </synapse>
      <synapse id="2">
        <action_set>
          <rsc_op id="1" operation="monitor" operation_key="rsc1_monitor_0" on_node="node1" on_node_uuid="uuid1">
            <primitive id="rsc1" class="ocf" provider="heartbeat" type="apache"/>
            <attributes CRM_meta_on_node="node1" CRM_meta_on_node_uuid="uuid1" CRM_meta_op_target_rc="7" CRM_meta_timeout="20000" crm_feature_set="3.16.1"/>
          </rsc_op>
        </action_set>
        <inputs/>
      </synapse>
    </transition_graph>

    """

    static func graph(_ text: String) throws -> TransitionGraph {
        Scheduler.schedule(try CIB(parsing: text)).graph
    }

    @Test func probesComeBeforeTheStartAsPacemakerWritesThem() throws {
        let graph = try Self.graph(Self.twoNodesNothingKnown)
        let expected = try TransitionGraph(xml: XMLCodec.parse(Self.twoNodesNothingKnownGraph))
        #expect(graph.differences(from: expected) == [])
        let probes = graph.synapses.map(\.action).filter { $0.operation == .monitor }
        #expect(probes.count == 2)
        #expect(probes.allSatisfy { $0.attributes["CRM_meta_op_target_rc"] == "7" && $0.operationKey == "rsc1_monitor_0" })
        let start = try #require(graph.synapses.first { $0.action.operation == .start })
        #expect(Set(start.inputs.map(\.identity.node)) == ["node1", "node2"])
        #expect(start.action.element == .resourceOperation)
        #expect(start.action.primitive == TransitionGraph.Primitive(id: "rsc1", longID: nil, resourceClass: "ocf",
                                                                     provider: "heartbeat", type: "apache"))
    }

    @Test func theWrittenXMLReadsBackAsTheSameGraph() throws {
        let graph = try Self.graph(Self.twoNodesNothingKnown)
        let text = TransitionGraphWriter.xml(graph)
        let back = try TransitionGraph(xml: XMLCodec.parse(text))
        #expect(back.differences(from: graph) == [])
        #expect(back.synapses.count == graph.synapses.count)
        // Pacemaker's own normalisation accepts it too once the numbering is the same.
        #expect(TransitionGraph.normalizedForDiff(text).contains("<attributes"))
        #expect(!TransitionGraph.normalizedForDiff(text).contains("crm_feature_set"))
    }

    @Test func aGraphThatDiffersInOneEdgeOrOneAttributeFailsTheComparison() throws {
        let expected = try TransitionGraph(xml: XMLCodec.parse(Self.twoNodesNothingKnownGraph))
        // One input edge less.
        var lessEdge = expected
        lessEdge.synapses[0].inputs.removeLast()
        #expect(lessEdge.differences(from: expected) == ["rsc_op rsc1_start_0 on node1: missing input rsc_op rsc1_monitor_0 on node2"])
        // One attribute changed.
        var otherTimeout = expected
        otherTimeout.synapses[1].action.attributes["CRM_meta_timeout"] = "30000"
        #expect(otherTimeout.differences(from: expected) == ["rsc_op rsc1_monitor_0 on node2: CRM_meta_timeout=30000, expected 20000"])
        // One action more.
        var extra = expected
        var stop = expected.synapses[0].action
        stop.id = 9; stop.operation = .stop; stop.operationKey = "rsc1_stop_0"
        extra.synapses.append(.init(id: 3, priority: 0, action: stop, inputs: []))
        #expect(extra.differences(from: expected) == ["extra action: rsc_op rsc1_stop_0 on node1"])
        // A graph attribute; renumbering alone is no difference.
        var delayed = expected
        delayed.attributes.clusterDelay = "120s"
        #expect(delayed.differences(from: expected).count == 1)
        var renumbered = expected
        for index in renumbered.synapses.indices { renumbered.synapses[index].id += 10 }
        #expect(renumbered.differences(from: expected) == [])
    }

    @Test func recurringMonitorsFollowTheirDefinitionAndTheStart() throws {
        let cib = Self.twoNodesNothingKnown.replacingOccurrences(of:
            "<primitive id=\"rsc1\" class=\"ocf\" provider=\"heartbeat\" type=\"apache\"/>",
            with: """
            <primitive id="rsc1" class="ocf" provider="heartbeat" type="apache">
              <instance_attributes id="p"><nvpair id="p1" name="port" value="8080"/></instance_attributes>
              <operations><op id="m" name="monitor" interval="10s" timeout="30s" on-fail="restart"/></operations>
            </primitive>
            """)
        let graph = try Self.graph(cib)
        let monitor = try #require(graph.synapses.first { $0.action.operationKey == "rsc1_monitor_10000" })
        #expect(monitor.action.node?.name == "node1")
        #expect(monitor.action.attributes["CRM_meta_interval"] == "10000")
        #expect(monitor.action.attributes["CRM_meta_timeout"] == "30000")
        #expect(monitor.action.attributes["CRM_meta_name"] == "monitor")
        #expect(monitor.action.attributes["CRM_meta_on_fail"] == "restart")
        #expect(monitor.action.attributes["port"] == "8080")
        #expect(monitor.inputs.map(\.identity.operationKey) == ["rsc1_start_0"])
        // The probes take the shortest monitor's timeout.
        let probe = try #require(graph.synapses.first { $0.action.operationKey == "rsc1_monitor_0" })
        #expect(probe.action.attributes["CRM_meta_timeout"] == "30000")
    }

    @Test func clonesCarryTheirVariablesAndMilestones() throws {
        let cib = Self.twoNodesNothingKnown.replacingOccurrences(of:
            "<primitive id=\"rsc1\" class=\"ocf\" provider=\"heartbeat\" type=\"apache\"/>",
            with: """
            <clone id="web"><primitive id="rsc1" class="ocf" provider="heartbeat" type="apache"/></clone>
            """)
        let graph = try Self.graph(cib)
        let starts = graph.synapses.filter { $0.action.operation == .start && $0.action.element == .resourceOperation }
        #expect(starts.count == 2)
        for start in starts {
            #expect(start.action.attributes["CRM_meta_clone_max"] == "2")
            #expect(start.action.attributes["CRM_meta_globally_unique"] == "false")
            #expect(start.action.primitive?.id == "rsc1")
            #expect(start.inputs.map(\.identity) == [.init(element: .pseudoEvent, operationKey: "web_start_0", node: nil)])
        }
        let running = try #require(graph.synapses.first { $0.action.operationKey == "web_running_0" })
        #expect(running.priority == 1_000_000)
        #expect(running.inputs.count == 3)
        // The dot graph names each action as crm_simulate does.
        let dot = TransitionGraphWriter.dot(graph)
        #expect(dot.hasPrefix(" digraph \"g\" {\n"))
        #expect(dot.contains("\"web_running_0\" [ style=bold color=\"green\" fontcolor=\"orange\"]"))
        #expect(dot.contains("\"rsc1:0_start_0 node1\" -> \"web_running_0\" [ style = bold]")
                || dot.contains("\"rsc1:1_start_0 node1\" -> \"web_running_0\" [ style = bold]"))
    }

    @Test func anInputCycleIsFound() throws {
        let graph = try Self.graph(Self.twoNodesNothingKnown)
        #expect(graph.inputCycle() == nil)
        // The probe on node1 made to wait for the start that waits for it.
        var cyclic = graph
        let start = try #require(cyclic.synapses.firstIndex { $0.action.operation == .start })
        let probe = try #require(cyclic.synapses.firstIndex { $0.action.operation == .monitor && $0.action.node?.name == "node1" })
        cyclic.synapses[probe].inputs.append(cyclic.synapses[start].action.reference)
        let cycle = try #require(cyclic.inputCycle())
        #expect(Set(cycle.map(\.operationKey)) == ["rsc1_start_0", "rsc1_monitor_0"])
    }
}
