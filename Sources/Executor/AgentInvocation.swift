/// A resource as the executor runs it: its agent (class, provider, type) and its instance
/// parameters.
public struct AgentResource: Sendable, Equatable {
    public let id: String
    public let standard: AgentStandard
    /// OCF only ("heartbeat", "pacemaker", ...).
    public let provider: String?
    public let type: String
    public let parameters: [String: String]

    public init(id: String, standard: AgentStandard, provider: String?, type: String, parameters: [String: String]) {
        self.id = id
        self.standard = standard
        self.provider = provider
        self.type = type
        self.parameters = parameters
    }

    /// "ocf:pacemaker:Dummy", "lsb:cron", "systemd:chrony".
    public var agentName: String {
        [standard.rawValue, provider, type].compactMap { $0 }.joined(separator: ":")
    }

    /// Why this resource cannot be run as given (nil: it can): a provider or type that would
    /// leave the agent directory, a missing OCF provider.
    public var problem: String? {
        if id.isEmpty { return "a resource without an id" }
        if standard == .ocf && (provider ?? "").isEmpty { return "resource \(id): an ocf agent needs a provider" }
        for (what, name) in [("type", type), ("provider", provider ?? "x")]
        where name.isEmpty || name.contains("/") || name == "." || name == ".." || name.utf8.contains(0) {
            return "resource \(id): agent \(what) '\(name)' is not a plain name"
        }
        for name in parameters.keys where name.isEmpty || name.contains("=") || name.utf8.contains(0) {
            return "resource \(id): parameter name '\(name)' is not usable in an environment"
        }
        return nil
    }
}

/// Where the executor finds agents and what it tells them, as Pacemaker 2.1.5 built for Debian
/// (`OCF_ROOT_DIR` /usr/lib/ocf, `CRM_RSCTMP_DIR` /run/resource-agents, OCF 1.1, feature set
/// 3.16.1).
public struct ExecutorSettings: Sendable, Equatable {
    public var ocfRoot: String
    public var resourceTemporaryDirectory: String
    public var initScriptDirectory: String
    public var systemctl: String
    public var ocfVersion: (major: String, minor: String)
    public var featureSet: String
    /// The environment every agent inherits (pacemaker-execd's own: PATH, the HA_ variables
    /// pacemakerd exports from /etc/default/pacemaker, ...), under the OCF variables.
    public var baseEnvironment: [String: String]
    /// Bytes of stdout and of stderr kept per operation.
    public var outputLimit: Int
    /// Where agents run (pacemaker-execd runs them in its own working directory, its core
    /// directory /var/lib/pacemaker/cores); nil: the executor's own.
    public var workingDirectory: String?
    /// Where the executor's shell puts the tools agents call (crm_attribute, crm_master,
    /// attrd_updater, crm_node: links to `baton-agent-tools`), a directory it creates and puts
    /// first on the agents' PATH and as their HA_SBIN_DIR; nil: none from Baton (the agents find
    /// whatever PATH has, as under pacemaker-execd).
    public var agentToolsDirectory: String?
    /// The `baton-agent-tools` executable the links point to; nil: the one beside the running
    /// executable (where the build and the package put it), and no tools when there is none.
    public var agentToolsExecutable: String?

    public init(
        ocfRoot: String = "/usr/lib/ocf", resourceTemporaryDirectory: String = "/run/resource-agents",
        initScriptDirectory: String = "/etc/init.d", systemctl: String = "/usr/bin/systemctl",
        featureSet: String = "3.16.1", baseEnvironment: [String: String] = [:], outputLimit: Int = 64 << 10,
        workingDirectory: String? = nil, agentToolsDirectory: String? = "/run/baton/agent-tools",
        agentToolsExecutable: String? = nil
    ) {
        self.ocfRoot = ocfRoot
        self.resourceTemporaryDirectory = resourceTemporaryDirectory
        self.initScriptDirectory = initScriptDirectory
        self.systemctl = systemctl
        self.ocfVersion = ("1", "1")
        self.featureSet = featureSet
        self.baseEnvironment = baseEnvironment
        self.outputLimit = outputLimit
        self.workingDirectory = workingDirectory
        self.agentToolsDirectory = agentToolsDirectory
        self.agentToolsExecutable = agentToolsExecutable
    }

    public static func == (left: ExecutorSettings, right: ExecutorSettings) -> Bool {
        left.ocfRoot == right.ocfRoot && left.resourceTemporaryDirectory == right.resourceTemporaryDirectory
            && left.initScriptDirectory == right.initScriptDirectory && left.systemctl == right.systemctl
            && left.ocfVersion == right.ocfVersion && left.featureSet == right.featureSet
            && left.baseEnvironment == right.baseEnvironment && left.outputLimit == right.outputLimit
            && left.workingDirectory == right.workingDirectory && left.agentToolsDirectory == right.agentToolsDirectory
            && left.agentToolsExecutable == right.agentToolsExecutable
    }
}

/// One run of an agent: the program, its arguments and its whole environment (the shell hands
/// it to the child-process primitive as is).
public struct AgentInvocation: Sendable, Equatable {
    public let executable: String
    public let arguments: [String]
    public let environment: [String: String]
    public let timeout: Duration

    /// The run of `action` on `resource` with `meta` (the controller's `CRM_meta_*` values,
    /// named without the prefix: timeout in ms, interval, name, on_node, op_target_rc, clone and
    /// notify variables) as pacemaker-execd runs it: every parameter and meta value as
    /// `OCF_RESKEY_<name>` (OCF_CHECK_LEVEL bare), then OCF_RA_VERSION_MAJOR/MINOR, OCF_ROOT,
    /// OCF_EXIT_REASON_PREFIX, OCF_RESOURCE_INSTANCE, OCF_RESOURCE_TYPE, OCF_RESOURCE_PROVIDER
    /// over the executor's own environment. LSB scripts and systemd units get no OCF variables.
    public static func of(
        _ resource: AgentResource, action: String, timeout: Duration, meta: [String: String], featureSet: String?,
        settings: ExecutorSettings
    ) -> AgentInvocation {
        precondition(resource.problem == nil, "invocation of an invalid resource: \(resource.problem ?? "")")
        var environment = settings.baseEnvironment
        switch resource.standard {
        case .ocf:
            var parameters = resource.parameters
            // Meta names as Pacemaker's crm_meta_name makes them: target-role -> CRM_meta_target_role.
            for (name, value) in meta { parameters["CRM_meta_" + name.replacingDashes()] = value }
            if let featureSet { parameters["crm_feature_set"] = featureSet }
            for (name, value) in parameters {
                environment[name == "OCF_CHECK_LEVEL" ? name : "OCF_RESKEY_" + name] = value
            }
            environment["OCF_RA_VERSION_MAJOR"] = settings.ocfVersion.major
            environment["OCF_RA_VERSION_MINOR"] = settings.ocfVersion.minor
            environment["OCF_ROOT"] = settings.ocfRoot
            environment["OCF_EXIT_REASON_PREFIX"] = AgentVerdict.exitReasonPrefix
            environment["OCF_RESOURCE_INSTANCE"] = resource.id
            environment["OCF_RESOURCE_TYPE"] = resource.type
            environment["OCF_RESOURCE_PROVIDER"] = resource.provider
            let path = "\(settings.ocfRoot)/resource.d/\(resource.provider!)/\(resource.type)"
            return AgentInvocation(executable: path, arguments: [action], environment: environment, timeout: timeout)
        case .lsb:
            // An LSB script knows "status", not "monitor".
            let verb = action == "monitor" ? "status" : action
            let path = resource.type.hasPrefix("/") ? resource.type : "\(settings.initScriptDirectory)/\(resource.type)"
            return AgentInvocation(executable: path, arguments: [verb], environment: environment, timeout: timeout)
        case .systemd:
            // Pacemaker talks to systemd over D-Bus; the same requests through systemctl.
            let unit = resource.type.contains(".") ? resource.type : resource.type + ".service"
            let verb: [String] = switch action {
            // Prints the unit's ActiveState (activating and deactivating are pending).
            case "monitor", "status": ["is-active"]
            // As Pacemaker's StartUnit/StopUnit: done once the job is queued; the executor then
            // polls the unit's state until it has settled (ExecutorCore's follow-up monitors).
            case "start", "stop": [action, "--no-block"]
            case "meta-data": ["show", "--property=Description"]
            default: [action]
            }
            return AgentInvocation(executable: settings.systemctl, arguments: verb + [unit], environment: environment, timeout: timeout)
        }
    }
}

extension String {
    func replacingDashes() -> String {
        String(decoding: utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "_") : $0 }, as: UTF8.self)
    }
}
