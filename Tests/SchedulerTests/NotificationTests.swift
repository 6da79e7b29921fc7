import CIB
import Testing
@testable import Scheduler

/// Clone notifications (notify=true) in the transition graph, held to what crm_simulate 2.1.5
/// -G writes for the same inputs (Notifications.swift), and the orderings between interleaved
/// clones that the graph shows.
@Suite struct NotificationTests {
    /// A promotable clone with notify=true: db:0 promoted on node1 stays, db:1 leaves node2
    /// (standby) for node10. Stop and start notifications, promotable variables, node names
    /// in Pacemaker's order (node2 before node10).
    static let instanceMoves = """
    <cib admin_epoch="0" epoch="1" num_updates="1" dc-uuid="uuid1" have-quorum="true" validate-with="pacemaker-3.0">
      <configuration>
        <crm_config><cluster_property_set id="o">
          <nvpair id="o1" name="stonith-enabled" value="false"/>
        </cluster_property_set></crm_config>
        <nodes>
          <node id="uuid1" uname="node1" type="member"/>
          <node id="uuid2" uname="node2" type="member"><instance_attributes id="n2"><nvpair id="n2s" name="standby" value="on"/></instance_attributes></node>
          <node id="uuid10" uname="node10" type="member"/>
        </nodes>
        <resources>
          <clone id="db-clone">
            <meta_attributes id="db-clone-meta">
              <nvpair id="db-clone-notify" name="notify" value="true"/>
              <nvpair id="db-clone-promotable" name="promotable" value="true"/>
              <nvpair id="db-clone-max" name="clone-max" value="2"/>
            </meta_attributes>
            <primitive id="db" class="ocf" provider="pacemaker" type="Stateful"/>
          </clone>
        </resources>
        <constraints/>
      </configuration>
      <status>
        <node_state id="uuid1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
          <transient_attributes id="uuid1"><instance_attributes id="t1"><nvpair id="t1p" name="master-db" value="10"/></instance_attributes></transient_attributes>
          <lrm id="uuid1"><lrm_resources>
            <lrm_resource id="db" class="ocf" provider="pacemaker" type="Stateful">
              <lrm_rsc_op id="db_last_0" operation_key="db_promote_0" operation="promote" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="6" rc-code="0" op-status="0" interval="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>
            </lrm_resource>
          </lrm_resources></lrm>
        </node_state>
        <node_state id="uuid2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">
          <transient_attributes id="uuid2"><instance_attributes id="t2"><nvpair id="t2p" name="master-db" value="5"/></instance_attributes></transient_attributes>
          <lrm id="uuid2"><lrm_resources>
            <lrm_resource id="db" class="ocf" provider="pacemaker" type="Stateful">
              <lrm_rsc_op id="db_last_0" operation_key="db_start_0" operation="start" transition-key="4:1:0:x" transition-magic="0:0;4:1:0:x" call-id="4" rc-code="0" op-status="0" interval="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>
            </lrm_resource>
          </lrm_resources></lrm>
        </node_state>
        <node_state id="uuid10" uname="node10" in_ccm="true" crmd="online" join="member" expected="member">
          <lrm id="uuid10"><lrm_resources>
            <lrm_resource id="db" class="ocf" provider="pacemaker" type="Stateful">
              <lrm_rsc_op id="db_last_0" operation_key="db_monitor_0" operation="monitor" transition-key="5:1:7:x" transition-magic="0:7;5:1:7:x" call-id="1" rc-code="7" op-status="0" interval="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>
            </lrm_resource>
          </lrm_resources></lrm>
        </node_state>
      </status>
    </cib>
    """

    /// What crm_simulate 2.1.5 -G writes for `instanceMoves` (crm_feature_set left out).
    static let instanceMovesGraph = """
    <transition_graph cluster-delay="60s" stonith-timeout="60s" failed-stop-offset="INFINITY" failed-start-offset="INFINITY" batch-limit="0" transition_id="0">
      <synapse id="0" priority="1000000">
        <action_set>
          <rsc_op id="39" operation="notify" operation_key="db_post_notify_stop_0" internal_operation_key="db:0_post_notify_stop_0" on_node="node1" on_node_uuid="uuid1">
            <primitive id="db" long-id="db:0" class="ocf" provider="pacemaker" type="Stateful"/>
            <attributes CRM_meta_clone="0" CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_active_resource="db:0 db:1" CRM_meta_notify_active_uname="node1 node2" CRM_meta_notify_all_uname="node1 node2 node10" CRM_meta_notify_available_uname="node1 node2 node10" CRM_meta_notify_demote_resource=" " CRM_meta_notify_demote_uname=" " CRM_meta_notify_inactive_resource="db:2" CRM_meta_notify_key_operation="stopped" CRM_meta_notify_key_type="post" CRM_meta_notify_master_resource="db:0" CRM_meta_notify_master_uname="node1" CRM_meta_notify_operation="stop" CRM_meta_notify_promote_resource=" " CRM_meta_notify_promote_uname=" " CRM_meta_notify_promoted_resource="db:0" CRM_meta_notify_promoted_uname="node1" CRM_meta_notify_slave_resource="db:1" CRM_meta_notify_slave_uname="node2" CRM_meta_notify_start_resource="db:1" CRM_meta_notify_start_uname="node10" CRM_meta_notify_stop_resource="db:1" CRM_meta_notify_stop_uname="node2" CRM_meta_notify_type="post" CRM_meta_notify_unpromoted_resource="db:1" CRM_meta_notify_unpromoted_uname="node2" CRM_meta_on_node="node1" CRM_meta_on_node_uuid="uuid1" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </rsc_op>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="17" operation="notify" operation_key="db-clone_post_notify_stopped_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="1">
        <action_set>
          <rsc_op id="38" operation="notify" operation_key="db_pre_notify_stop_0" internal_operation_key="db:0_pre_notify_stop_0" on_node="node1" on_node_uuid="uuid1">
            <primitive id="db" long-id="db:0" class="ocf" provider="pacemaker" type="Stateful"/>
            <attributes CRM_meta_clone="0" CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_active_resource="db:0 db:1" CRM_meta_notify_active_uname="node1 node2" CRM_meta_notify_all_uname="node1 node2 node10" CRM_meta_notify_available_uname="node1 node2 node10" CRM_meta_notify_demote_resource=" " CRM_meta_notify_demote_uname=" " CRM_meta_notify_inactive_resource="db:2" CRM_meta_notify_key_operation="stop" CRM_meta_notify_key_type="pre" CRM_meta_notify_master_resource="db:0" CRM_meta_notify_master_uname="node1" CRM_meta_notify_operation="stop" CRM_meta_notify_promote_resource=" " CRM_meta_notify_promote_uname=" " CRM_meta_notify_promoted_resource="db:0" CRM_meta_notify_promoted_uname="node1" CRM_meta_notify_slave_resource="db:1" CRM_meta_notify_slave_uname="node2" CRM_meta_notify_start_resource="db:1" CRM_meta_notify_start_uname="node10" CRM_meta_notify_stop_resource="db:1" CRM_meta_notify_stop_uname="node2" CRM_meta_notify_type="pre" CRM_meta_notify_unpromoted_resource="db:1" CRM_meta_notify_unpromoted_uname="node2" CRM_meta_on_node="node1" CRM_meta_on_node_uuid="uuid1" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </rsc_op>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="15" operation="notify" operation_key="db-clone_pre_notify_stop_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="2" priority="1000000">
        <action_set>
          <rsc_op id="36" operation="notify" operation_key="db_post_notify_start_0" internal_operation_key="db:0_post_notify_start_0" on_node="node1" on_node_uuid="uuid1">
            <primitive id="db" long-id="db:0" class="ocf" provider="pacemaker" type="Stateful"/>
            <attributes CRM_meta_clone="0" CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_active_resource="db:0 db:1" CRM_meta_notify_active_uname="node1 node2" CRM_meta_notify_all_uname="node1 node2 node10" CRM_meta_notify_available_uname="node1 node2 node10" CRM_meta_notify_demote_resource=" " CRM_meta_notify_demote_uname=" " CRM_meta_notify_inactive_resource="db:2" CRM_meta_notify_key_operation="running" CRM_meta_notify_key_type="post" CRM_meta_notify_master_resource="db:0" CRM_meta_notify_master_uname="node1" CRM_meta_notify_operation="start" CRM_meta_notify_promote_resource=" " CRM_meta_notify_promote_uname=" " CRM_meta_notify_promoted_resource="db:0" CRM_meta_notify_promoted_uname="node1" CRM_meta_notify_slave_resource="db:1" CRM_meta_notify_slave_uname="node2" CRM_meta_notify_start_resource="db:1" CRM_meta_notify_start_uname="node10" CRM_meta_notify_stop_resource="db:1" CRM_meta_notify_stop_uname="node2" CRM_meta_notify_type="post" CRM_meta_notify_unpromoted_resource="db:1" CRM_meta_notify_unpromoted_uname="node2" CRM_meta_on_node="node1" CRM_meta_on_node_uuid="uuid1" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </rsc_op>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="11" operation="notify" operation_key="db-clone_post_notify_running_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="3">
        <action_set>
          <rsc_op id="35" operation="notify" operation_key="db_pre_notify_start_0" internal_operation_key="db:0_pre_notify_start_0" on_node="node1" on_node_uuid="uuid1">
            <primitive id="db" long-id="db:0" class="ocf" provider="pacemaker" type="Stateful"/>
            <attributes CRM_meta_clone="0" CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_active_resource="db:0 db:1" CRM_meta_notify_active_uname="node1 node2" CRM_meta_notify_all_uname="node1 node2 node10" CRM_meta_notify_available_uname="node1 node2 node10" CRM_meta_notify_demote_resource=" " CRM_meta_notify_demote_uname=" " CRM_meta_notify_inactive_resource="db:2" CRM_meta_notify_key_operation="start" CRM_meta_notify_key_type="pre" CRM_meta_notify_master_resource="db:0" CRM_meta_notify_master_uname="node1" CRM_meta_notify_operation="start" CRM_meta_notify_promote_resource=" " CRM_meta_notify_promote_uname=" " CRM_meta_notify_promoted_resource="db:0" CRM_meta_notify_promoted_uname="node1" CRM_meta_notify_slave_resource="db:1" CRM_meta_notify_slave_uname="node2" CRM_meta_notify_start_resource="db:1" CRM_meta_notify_start_uname="node10" CRM_meta_notify_stop_resource="db:1" CRM_meta_notify_stop_uname="node2" CRM_meta_notify_type="pre" CRM_meta_notify_unpromoted_resource="db:1" CRM_meta_notify_unpromoted_uname="node2" CRM_meta_on_node="node1" CRM_meta_on_node_uuid="uuid1" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </rsc_op>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="9" operation="notify" operation_key="db-clone_pre_notify_start_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="4">
        <action_set>
          <rsc_op id="40" operation="notify" operation_key="db_pre_notify_stop_0" internal_operation_key="db:1_pre_notify_stop_0" on_node="node2" on_node_uuid="uuid2">
            <primitive id="db" long-id="db:1" class="ocf" provider="pacemaker" type="Stateful"/>
            <attributes CRM_meta_clone="1" CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_active_resource="db:0 db:1" CRM_meta_notify_active_uname="node1 node2" CRM_meta_notify_all_uname="node1 node2 node10" CRM_meta_notify_available_uname="node1 node2 node10" CRM_meta_notify_demote_resource=" " CRM_meta_notify_demote_uname=" " CRM_meta_notify_inactive_resource="db:2" CRM_meta_notify_key_operation="stop" CRM_meta_notify_key_type="pre" CRM_meta_notify_master_resource="db:0" CRM_meta_notify_master_uname="node1" CRM_meta_notify_operation="stop" CRM_meta_notify_promote_resource=" " CRM_meta_notify_promote_uname=" " CRM_meta_notify_promoted_resource="db:0" CRM_meta_notify_promoted_uname="node1" CRM_meta_notify_slave_resource="db:1" CRM_meta_notify_slave_uname="node2" CRM_meta_notify_start_resource="db:1" CRM_meta_notify_start_uname="node10" CRM_meta_notify_stop_resource="db:1" CRM_meta_notify_stop_uname="node2" CRM_meta_notify_type="pre" CRM_meta_notify_unpromoted_resource="db:1" CRM_meta_notify_unpromoted_uname="node2" CRM_meta_on_node="node2" CRM_meta_on_node_uuid="uuid2" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </rsc_op>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="15" operation="notify" operation_key="db-clone_pre_notify_stop_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="5" priority="1000000">
        <action_set>
          <rsc_op id="37" operation="notify" operation_key="db_post_notify_start_0" internal_operation_key="db:1_post_notify_start_0" on_node="node10" on_node_uuid="uuid10">
            <primitive id="db" long-id="db:1" class="ocf" provider="pacemaker" type="Stateful"/>
            <attributes CRM_meta_clone="1" CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_active_resource="db:0 db:1" CRM_meta_notify_active_uname="node1 node2" CRM_meta_notify_all_uname="node1 node2 node10" CRM_meta_notify_available_uname="node1 node2 node10" CRM_meta_notify_demote_resource=" " CRM_meta_notify_demote_uname=" " CRM_meta_notify_inactive_resource="db:2" CRM_meta_notify_key_operation="running" CRM_meta_notify_key_type="post" CRM_meta_notify_master_resource="db:0" CRM_meta_notify_master_uname="node1" CRM_meta_notify_operation="start" CRM_meta_notify_promote_resource=" " CRM_meta_notify_promote_uname=" " CRM_meta_notify_promoted_resource="db:0" CRM_meta_notify_promoted_uname="node1" CRM_meta_notify_slave_resource="db:1" CRM_meta_notify_slave_uname="node2" CRM_meta_notify_start_resource="db:1" CRM_meta_notify_start_uname="node10" CRM_meta_notify_stop_resource="db:1" CRM_meta_notify_stop_uname="node2" CRM_meta_notify_type="post" CRM_meta_notify_unpromoted_resource="db:1" CRM_meta_notify_unpromoted_uname="node2" CRM_meta_on_node="node10" CRM_meta_on_node_uuid="uuid10" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </rsc_op>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="11" operation="notify" operation_key="db-clone_post_notify_running_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="6">
        <action_set>
          <rsc_op id="6" operation="start" operation_key="db_start_0" internal_operation_key="db:1_start_0" on_node="node10" on_node_uuid="uuid10">
            <primitive id="db" long-id="db:1" class="ocf" provider="pacemaker" type="Stateful"/>
            <attributes CRM_meta_clone="1" CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_active_resource="db:0 db:1" CRM_meta_notify_active_uname="node1 node2" CRM_meta_notify_all_uname="node1 node2 node10" CRM_meta_notify_available_uname="node1 node2 node10" CRM_meta_notify_demote_resource=" " CRM_meta_notify_demote_uname=" " CRM_meta_notify_inactive_resource="db:2" CRM_meta_notify_master_resource="db:0" CRM_meta_notify_master_uname="node1" CRM_meta_notify_promote_resource=" " CRM_meta_notify_promote_uname=" " CRM_meta_notify_promoted_resource="db:0" CRM_meta_notify_promoted_uname="node1" CRM_meta_notify_slave_resource="db:1" CRM_meta_notify_slave_uname="node2" CRM_meta_notify_start_resource="db:1" CRM_meta_notify_start_uname="node10" CRM_meta_notify_stop_resource="db:1" CRM_meta_notify_stop_uname="node2" CRM_meta_notify_unpromoted_resource="db:1" CRM_meta_notify_unpromoted_uname="node2" CRM_meta_on_node="node10" CRM_meta_on_node_uuid="uuid10" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </rsc_op>
        </action_set>
        <inputs>
          <trigger>
            <rsc_op id="5" operation="stop" operation_key="db_stop_0" internal_operation_key="db:1_stop_0" on_node="node2" on_node_uuid="uuid2"/>
          </trigger>
          <trigger>
            <pseudo_event id="7" operation="start" operation_key="db-clone_start_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="7">
        <action_set>
          <rsc_op id="5" operation="stop" operation_key="db_stop_0" internal_operation_key="db:1_stop_0" on_node="node2" on_node_uuid="uuid2">
            <primitive id="db" long-id="db:1" class="ocf" provider="pacemaker" type="Stateful"/>
            <attributes CRM_meta_clone="1" CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_active_resource="db:0 db:1" CRM_meta_notify_active_uname="node1 node2" CRM_meta_notify_all_uname="node1 node2 node10" CRM_meta_notify_available_uname="node1 node2 node10" CRM_meta_notify_demote_resource=" " CRM_meta_notify_demote_uname=" " CRM_meta_notify_inactive_resource="db:2" CRM_meta_notify_master_resource="db:0" CRM_meta_notify_master_uname="node1" CRM_meta_notify_promote_resource=" " CRM_meta_notify_promote_uname=" " CRM_meta_notify_promoted_resource="db:0" CRM_meta_notify_promoted_uname="node1" CRM_meta_notify_slave_resource="db:1" CRM_meta_notify_slave_uname="node2" CRM_meta_notify_start_resource="db:1" CRM_meta_notify_start_uname="node10" CRM_meta_notify_stop_resource="db:1" CRM_meta_notify_stop_uname="node2" CRM_meta_notify_unpromoted_resource="db:1" CRM_meta_notify_unpromoted_uname="node2" CRM_meta_on_node="node2" CRM_meta_on_node_uuid="uuid2" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </rsc_op>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="13" operation="stop" operation_key="db-clone_stop_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="8" priority="1000000">
        <action_set>
          <pseudo_event id="18" operation="notified" operation_key="db-clone_confirmed-post_notify_stopped_0">
            <attributes CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_key_operation="stopped" CRM_meta_notify_key_type="confirmed-post" CRM_meta_notify_operation="stop" CRM_meta_notify_type="post" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </pseudo_event>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="17" operation="notify" operation_key="db-clone_post_notify_stopped_0"/>
          </trigger>
          <trigger>
            <rsc_op id="39" operation="notify" operation_key="db_post_notify_stop_0" internal_operation_key="db:0_post_notify_stop_0" on_node="node1" on_node_uuid="uuid1"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="9" priority="1000000">
        <action_set>
          <pseudo_event id="17" operation="notify" operation_key="db-clone_post_notify_stopped_0">
            <attributes CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_key_operation="stopped" CRM_meta_notify_key_type="post" CRM_meta_notify_operation="stop" CRM_meta_notify_type="post" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </pseudo_event>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="14" operation="stopped" operation_key="db-clone_stopped_0"/>
          </trigger>
          <trigger>
            <pseudo_event id="16" operation="notified" operation_key="db-clone_confirmed-pre_notify_stop_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="10">
        <action_set>
          <pseudo_event id="16" operation="notified" operation_key="db-clone_confirmed-pre_notify_stop_0">
            <attributes CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_key_operation="stop" CRM_meta_notify_key_type="confirmed-pre" CRM_meta_notify_operation="stop" CRM_meta_notify_type="pre" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </pseudo_event>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="15" operation="notify" operation_key="db-clone_pre_notify_stop_0"/>
          </trigger>
          <trigger>
            <rsc_op id="38" operation="notify" operation_key="db_pre_notify_stop_0" internal_operation_key="db:0_pre_notify_stop_0" on_node="node1" on_node_uuid="uuid1"/>
          </trigger>
          <trigger>
            <rsc_op id="40" operation="notify" operation_key="db_pre_notify_stop_0" internal_operation_key="db:1_pre_notify_stop_0" on_node="node2" on_node_uuid="uuid2"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="11">
        <action_set>
          <pseudo_event id="15" operation="notify" operation_key="db-clone_pre_notify_stop_0">
            <attributes CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_key_operation="stop" CRM_meta_notify_key_type="pre" CRM_meta_notify_operation="stop" CRM_meta_notify_type="pre" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </pseudo_event>
        </action_set>
        <inputs/>
      </synapse>
      <synapse id="12" priority="1000000">
        <action_set>
          <pseudo_event id="14" operation="stopped" operation_key="db-clone_stopped_0">
            <attributes CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </pseudo_event>
        </action_set>
        <inputs>
          <trigger>
            <rsc_op id="5" operation="stop" operation_key="db_stop_0" internal_operation_key="db:1_stop_0" on_node="node2" on_node_uuid="uuid2"/>
          </trigger>
          <trigger>
            <pseudo_event id="13" operation="stop" operation_key="db-clone_stop_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="13">
        <action_set>
          <pseudo_event id="13" operation="stop" operation_key="db-clone_stop_0">
            <attributes CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </pseudo_event>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="16" operation="notified" operation_key="db-clone_confirmed-pre_notify_stop_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="14" priority="1000000">
        <action_set>
          <pseudo_event id="12" operation="notified" operation_key="db-clone_confirmed-post_notify_running_0">
            <attributes CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_key_operation="running" CRM_meta_notify_key_type="confirmed-post" CRM_meta_notify_operation="start" CRM_meta_notify_type="post" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </pseudo_event>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="11" operation="notify" operation_key="db-clone_post_notify_running_0"/>
          </trigger>
          <trigger>
            <rsc_op id="36" operation="notify" operation_key="db_post_notify_start_0" internal_operation_key="db:0_post_notify_start_0" on_node="node1" on_node_uuid="uuid1"/>
          </trigger>
          <trigger>
            <rsc_op id="37" operation="notify" operation_key="db_post_notify_start_0" internal_operation_key="db:1_post_notify_start_0" on_node="node10" on_node_uuid="uuid10"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="15" priority="1000000">
        <action_set>
          <pseudo_event id="11" operation="notify" operation_key="db-clone_post_notify_running_0">
            <attributes CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_key_operation="running" CRM_meta_notify_key_type="post" CRM_meta_notify_operation="start" CRM_meta_notify_type="post" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </pseudo_event>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="8" operation="running" operation_key="db-clone_running_0"/>
          </trigger>
          <trigger>
            <pseudo_event id="10" operation="notified" operation_key="db-clone_confirmed-pre_notify_start_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="16">
        <action_set>
          <pseudo_event id="10" operation="notified" operation_key="db-clone_confirmed-pre_notify_start_0">
            <attributes CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_key_operation="start" CRM_meta_notify_key_type="confirmed-pre" CRM_meta_notify_operation="start" CRM_meta_notify_type="pre" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </pseudo_event>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="9" operation="notify" operation_key="db-clone_pre_notify_start_0"/>
          </trigger>
          <trigger>
            <rsc_op id="35" operation="notify" operation_key="db_pre_notify_start_0" internal_operation_key="db:0_pre_notify_start_0" on_node="node1" on_node_uuid="uuid1"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="17">
        <action_set>
          <pseudo_event id="9" operation="notify" operation_key="db-clone_pre_notify_start_0">
            <attributes CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_notify_key_operation="start" CRM_meta_notify_key_type="pre" CRM_meta_notify_operation="start" CRM_meta_notify_type="pre" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </pseudo_event>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="18" operation="notified" operation_key="db-clone_confirmed-post_notify_stopped_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="18" priority="1000000">
        <action_set>
          <pseudo_event id="8" operation="running" operation_key="db-clone_running_0">
            <attributes CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </pseudo_event>
        </action_set>
        <inputs>
          <trigger>
            <rsc_op id="6" operation="start" operation_key="db_start_0" internal_operation_key="db:1_start_0" on_node="node10" on_node_uuid="uuid10"/>
          </trigger>
          <trigger>
            <pseudo_event id="7" operation="start" operation_key="db-clone_start_0"/>
          </trigger>
        </inputs>
      </synapse>
      <synapse id="19">
        <action_set>
          <pseudo_event id="7" operation="start" operation_key="db-clone_start_0">
            <attributes CRM_meta_clone_max="2" CRM_meta_clone_node_max="1" CRM_meta_globally_unique="false" CRM_meta_master_max="1" CRM_meta_master_node_max="1" CRM_meta_notify="true" CRM_meta_promoted_max="1" CRM_meta_promoted_node_max="1" CRM_meta_timeout="20000"/>
          </pseudo_event>
        </action_set>
        <inputs>
          <trigger>
            <pseudo_event id="10" operation="notified" operation_key="db-clone_confirmed-pre_notify_start_0"/>
          </trigger>
          <trigger>
            <pseudo_event id="14" operation="stopped" operation_key="db-clone_stopped_0"/>
          </trigger>
        </inputs>
      </synapse>
    </transition_graph>
    """

    /// A notify=true clone gains an instance; a primitive is ordered after the clone.
    static let cloneGrowsWithOrderAfter = """
    <cib admin_epoch="0" epoch="1" num_updates="1" dc-uuid="uuid1" have-quorum="true" validate-with="pacemaker-3.0">
      <configuration>
        <crm_config><cluster_property_set id="o">
          <nvpair id="o1" name="stonith-enabled" value="false"/>
        </cluster_property_set></crm_config>
        <nodes><node id="uuid1" uname="node1" type="member"/><node id="uuid2" uname="node2" type="member"/></nodes>
        <resources>
          <clone id="web-clone">
            <meta_attributes id="web-clone-meta"><nvpair id="web-clone-notify" name="notify" value="true"/></meta_attributes>
            <primitive id="web" class="ocf" provider="heartbeat" type="Dummy">
              <operations><op id="web-monitor" name="monitor" interval="10s"/><op id="web-notify" name="notify" interval="0" timeout="30s"/></operations>
            </primitive>
          </clone>
          <primitive id="app" class="ocf" provider="heartbeat" type="Dummy"/>
        </resources>
        <constraints><rsc_order id="web-then-app" first="web-clone" then="app"/></constraints>
      </configuration>
      <status>
        <node_state id="uuid1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
          <lrm id="uuid1"><lrm_resources>
            <lrm_resource id="web" class="ocf" provider="heartbeat" type="Dummy">
              <lrm_rsc_op id="web_last_0" operation_key="web_start_0" operation="start" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="5" rc-code="0" op-status="0" interval="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>
              <lrm_rsc_op id="web_monitor_10000" operation_key="web_monitor_10000" operation="monitor" transition-key="2:1:0:x" transition-magic="0:0;2:1:0:x" call-id="6" rc-code="0" op-status="0" interval="10000" op-digest="4811cef7f7f94e3a35a70be7916cb2fd"/>
            </lrm_resource>
            <lrm_resource id="app" class="ocf" provider="heartbeat" type="Dummy">
              <lrm_rsc_op id="app_last_0" operation_key="app_monitor_0" operation="monitor" transition-key="3:1:7:x" transition-magic="0:7;3:1:7:x" call-id="1" rc-code="7" op-status="0" interval="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>
            </lrm_resource>
          </lrm_resources></lrm>
        </node_state>
        <node_state id="uuid2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">
          <lrm id="uuid2"><lrm_resources>
            <lrm_resource id="web" class="ocf" provider="heartbeat" type="Dummy">
              <lrm_rsc_op id="web_last_0" operation_key="web_monitor_0" operation="monitor" transition-key="4:1:7:x" transition-magic="0:7;4:1:7:x" call-id="1" rc-code="7" op-status="0" interval="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>
            </lrm_resource>
            <lrm_resource id="app" class="ocf" provider="heartbeat" type="Dummy">
              <lrm_rsc_op id="app_last_0" operation_key="app_monitor_0" operation="monitor" transition-key="5:1:7:x" transition-magic="0:7;5:1:7:x" call-id="1" rc-code="7" op-status="0" interval="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>
            </lrm_resource>
          </lrm_resources></lrm>
        </node_state>
      </status>
    </cib>
    """

    /// Two interleaved clones, one ordered after the other, nothing running yet.
    static let interleavedClones = """
    <cib admin_epoch="0" epoch="1" num_updates="1" dc-uuid="uuid1" have-quorum="true" validate-with="pacemaker-3.0">
      <configuration>
        <crm_config><cluster_property_set id="o">
          <nvpair id="o1" name="stonith-enabled" value="false"/>
        </cluster_property_set></crm_config>
        <nodes><node id="uuid1" uname="node1" type="member"/><node id="uuid2" uname="node2" type="member"/></nodes>
        <resources>
          <clone id="base-clone">
            <meta_attributes id="base-clone-meta"><nvpair id="base-clone-interleave" name="interleave" value="true"/></meta_attributes>
            <primitive id="base" class="ocf" provider="heartbeat" type="Dummy"/>
          </clone>
          <clone id="top-clone">
            <meta_attributes id="top-clone-meta"><nvpair id="top-clone-interleave" name="interleave" value="true"/></meta_attributes>
            <primitive id="top" class="ocf" provider="heartbeat" type="Dummy"/>
          </clone>
        </resources>
        <constraints><rsc_order id="base-then-top" first="base-clone" then="top-clone"/></constraints>
      </configuration>
      <status>
        <node_state id="uuid1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"/>
        <node_state id="uuid2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
      </status>
    </cib>
    """

    static func graph(_ text: String) throws -> TransitionGraph {
        Scheduler.schedule(try CIB(parsing: text)).graph
    }

    static func action(_ graph: TransitionGraph, _ key: String, on node: String? = nil) -> TransitionGraph.Synapse? {
        graph.synapses.first { $0.action.operationKey == key && (node == nil || $0.action.node?.name == node) }
    }

    @Test func aPromotableCloneMovingAnInstanceNotifiesAsPacemakerDoes() throws {
        let graph = try Self.graph(Self.instanceMoves)
        let expected = try TransitionGraph(xml: XMLCodec.parse(Self.instanceMovesGraph))
        #expect(graph.differences(from: expected) == [])
        #expect(graph.inputCycle() == nil)
    }

    @Test func notifyActionsCarryTheVariablesAndTheirOwnOperation() throws {
        let graph = try Self.graph(Self.instanceMoves)
        // The instance that stays is told before and after the stop; the one stopping only before.
        let preStop = try #require(Self.action(graph, "db_pre_notify_stop_0", on: "node1")?.action)
        #expect(preStop.element == .resourceOperation && preStop.operation == .notify)
        #expect(preStop.internalOperationKey == "db:0_pre_notify_stop_0")
        #expect(preStop.attributes["CRM_meta_notify_type"] == "pre")
        #expect(preStop.attributes["CRM_meta_notify_operation"] == "stop")
        #expect(preStop.attributes["CRM_meta_notify_key_operation"] == "stop")
        #expect(preStop.attributes["CRM_meta_notify_stop_resource"] == "db:1")
        #expect(preStop.attributes["CRM_meta_notify_start_uname"] == "node10")
        #expect(preStop.attributes["CRM_meta_notify_promoted_resource"] == "db:0")
        #expect(preStop.attributes["CRM_meta_notify_master_resource"] == "db:0")
        #expect(preStop.attributes["CRM_meta_notify_unpromoted_uname"] == "node2")
        #expect(preStop.attributes["CRM_meta_notify_promote_resource"] == " ")
        #expect(preStop.attributes["CRM_meta_notify_available_uname"] == "node1 node2 node10")
        #expect(Self.action(graph, "db_post_notify_stop_0", on: "node2") == nil)
        let postStart = try #require(Self.action(graph, "db_post_notify_start_0", on: "node10"))
        #expect(postStart.priority == 1_000_000)
        #expect(postStart.inputs.map(\.identity.operationKey) == ["db-clone_post_notify_running_0"])
        // The start itself carries the variables, not the notification's own.
        let start = try #require(Self.action(graph, "db_start_0", on: "node10")?.action)
        #expect(start.attributes["CRM_meta_notify_start_resource"] == "db:1")
        #expect(start.attributes["CRM_meta_notify_type"] == nil)
    }

    @Test func anOrderAfterANotifyCloneWaitsForItsConfirmedPostNotification() throws {
        let graph = try Self.graph(Self.cloneGrowsWithOrderAfter)
        let start = try #require(Self.action(graph, "app_start_0", on: "node1"))
        #expect(start.inputs.map(\.identity.operationKey).contains("web-clone_confirmed-post_notify_running_0"))
        #expect(!start.inputs.map(\.identity.operationKey).contains("web-clone_running_0"))
        // The configured notify operation's timeout; the running instance is told before.
        let pre = try #require(Self.action(graph, "web_pre_notify_start_0", on: "node1")?.action)
        #expect(pre.attributes["CRM_meta_timeout"] == "30000")
        #expect(pre.internalOperationKey == "web:0_pre_notify_start_0")
        #expect(Self.action(graph, "web_pre_notify_start_0", on: "node2") == nil)
        // The new instance's recurring monitor waits for every post-notification.
        let monitor = try #require(Self.action(graph, "web_monitor_10000", on: "node2"))
        #expect(monitor.inputs.map(\.identity.operationKey).contains("web-clone_confirmed-post_notify_running_0"))
    }

    @Test func interleavedClonesKeepTheirOwnOrdering() throws {
        let graph = try Self.graph(Self.interleavedClones)
        let start = try #require(Self.action(graph, "top-clone_start_0"))
        #expect(start.inputs.map(\.identity.operationKey).contains("base-clone_running_0"))
    }

    @Test func notificationListsAreSortedByInstanceThenNodeIdWithoutRepeats() {
        let node1 = SchedulerNode(id: "b", name: "node1", order: 0)
        let node2 = SchedulerNode(id: "a", name: "node2", order: 1)
        let ten = SchedulerResource(id: "r:10", kind: .primitive, order: 0)
        let two = SchedulerResource(id: "r:2", kind: .primitive, order: 1)
        let entries = [NotificationEntry(resource: two, node: node1), NotificationEntry(resource: ten, node: node1),
                       NotificationEntry(resource: two, node: node2), NotificationEntry(resource: ten, node: nil)]
        // Byte order of ids ("r:10" before "r:2"), node ids next ("a" before "b"), one word each.
        let listed = NotificationData.strings(entries, withNodes: true)
        #expect(listed.resources == "r:10 r:2" && listed.nodes == "node1 node2")
        #expect(NotificationData.strings(entries, withNodes: false).resources == "r:10 r:2")
        #expect(NotificationData.strings([], withNodes: true) == (" ", " "))
    }

    @Test func nodeNamesSortAsPacemakerSortsThem() {
        #expect(numericCaselessCompare("node2", "node10") < 0)
        #expect(numericCaselessCompare("Node10", "node10") == 0)
        #expect(numericCaselessCompare("node007", "node7") > 0)
        #expect(numericCaselessCompare("alpha", "Beta") < 0)
        #expect(numericCaselessCompare("node1", "node1a") < 0)
    }
}
