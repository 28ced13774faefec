//! The parameters of the meta tools, with the names and defaults of the Python original.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::null_as_default;

/// `create_mcp_server`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateParams {
    /// The executor that runs the package: `uvx` for Python packages, `npx` for Node
    /// packages. Required unless `preset` is given.
    #[serde(default)]
    pub runtime_exec: Option<String>,
    /// The MCP package to run: a registry name with an optional version, e.g.
    /// `mcp-server-time`, `mcp-server-time@1.2.3` or
    /// `@modelcontextprotocol/server-filesystem@^2` (never a path, URL or git spec).
    /// Required unless `preset` is given.
    #[serde(default)]
    pub runtime_mcp: Option<String>,
    /// Arguments for the package, split shell-style, e.g. `/tmp` for the filesystem server.
    /// With `preset`, replaces the preset's arguments when not empty, if the preset allows
    /// it (`allowed_args` in `list_presets`).
    #[serde(default)]
    pub runtime_args: String,
    /// Environment variables for the server (e.g. API tokens). Values are never echoed
    /// back. With `preset`, added to the preset's. Names that change what runs or where
    /// packages come from (`LD_*`, `PATH`, `NODE_OPTIONS`, `npm_config_*`, `UV_*`, …) are
    /// refused unless the operator allows them.
    #[serde(default, deserialize_with = "null_as_default")]
    pub env: BTreeMap<String, String>,
    /// Return only once the server answers MCP (progress is reported meanwhile);
    /// otherwise return as soon as it is starting.
    #[serde(default)]
    pub wait_for_ready: bool,
    /// Create from a preset (see `list_presets`) instead of `runtime_exec`/`runtime_mcp`.
    #[serde(default)]
    pub preset: Option<String>,
    /// How long `wait_for_ready` may wait, in seconds (default 120, at most 1800). A failed
    /// or timed-out server is deleted.
    #[serde(default)]
    pub ready_timeout_secs: Option<u64>,
    /// A container image (Kubernetes backend): one that serves MCP itself on `port`
    /// (without runtime_exec/runtime_mcp), or one that provides the runtime and this
    /// daemon's bridge. The daemon must allow it (`--allow-image`).
    #[serde(default)]
    pub image: Option<String>,
    /// The port an image-only server serves MCP on (default 8080).
    #[serde(default)]
    pub port: Option<u16>,
    /// Let every principal of this daemon see, mount and delete the server (with a tokens
    /// file; otherwise only its creator can).
    #[serde(default)]
    pub shared: bool,
    /// Create from an MCP Registry entry instead (see `search_registry`), e.g.
    /// `io.github.modelcontextprotocol/time`: its npm package runs with npx, its PyPI one
    /// with uvx, its image (serving HTTP) as an image. Give its variables in `env` (secrets
    /// only as references, `${…}`) and its arguments in `inputs`.
    #[serde(default)]
    pub registry: Option<String>,
    /// The entry's version (default: its latest).
    #[serde(default)]
    pub version: Option<String>,
    /// Values of the entry's arguments and `{variables}`, by value hint or flag name
    /// without dashes, e.g. `{"city": "Paris", "units": "celsius"}`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub inputs: BTreeMap<String, String>,
}

/// `delete_mcp_server`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    /// The server's name, as returned by `create_mcp_server` or `list_mcp_servers`.
    #[serde(default)]
    #[schemars(required, length(min = 1))]
    pub job_name: String,
    /// Return only once everything is removed.
    #[serde(default)]
    pub wait_for_deletion: bool,
}

/// `get_mcp_server_status`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusParams {
    /// The server's name, as returned by `create_mcp_server` or `list_mcp_servers`.
    #[serde(default)]
    #[schemars(required, length(min = 1))]
    pub job_name: String,
}

/// The structured form of a tool that returns a list: `{"result": [...]}`, as the Python
/// original (FastMCP) wraps lists. The text content is the bare JSON array.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ListOutput<T> {
    /// The items.
    pub result: Vec<T>,
}

/// A preset as `list_presets` shows it: the preset, and how many children of its warm pool
/// are ready now (when it has one).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PresetListing {
    /// The preset.
    #[serde(flatten)]
    pub preset: crate::presets::Preset,
    /// Children of its warm pool ready to be handed out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_ready: Option<usize>,
}

/// `mount_mcp_server`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MountParams {
    /// The server to mount, as returned by `create_mcp_server`. Give this or `url`.
    #[serde(default)]
    pub job_name: Option<String>,
    /// Prefix for the server's names: its tools appear as `<name>_<tool>`, its prompts as
    /// `<name>_<prompt>`, its resources as `scheme://<name>/…`. Without a name they are
    /// merged as they are (refused if any collides).
    #[serde(default)]
    pub name: Option<String>,
    /// Mount any MCP server by URL instead of a job (e.g. `http://host:8080/mcp`).
    #[serde(default)]
    pub url: Option<String>,
    /// `streamable-http` (default, or for URLs not ending in `/sse`) or `sse`.
    #[serde(default)]
    pub transport: Option<crate::model::MountTransport>,
    /// Only the server's tools whose names match one of these patterns (`*` matches any
    /// text), e.g. `["read_*", "list_directory"]`; empty or absent: all.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Leave out the server's tools whose names match one of these patterns, e.g.
    /// `["*write*"]`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// New names for the server's tools (before the mount's prefix), e.g.
    /// `{"read_text_file": "cat"}`. Kept with the mount across reconnects and restarts.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Mount a remote server of an MCP Registry entry instead of `job_name`/`url`, e.g.
    /// `com.example/remote-echo` (the operator's URL allowlist applies).
    #[serde(default)]
    pub registry: Option<String>,
    /// The entry's version (default: its latest).
    #[serde(default)]
    pub version: Option<String>,
    /// Values of the remote URL's `{variables}`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub inputs: BTreeMap<String, String>,
}

/// `remove_mcp_server_mount`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveMountParams {
    /// The mount to remove. With neither `name` nor `job_name`, every mount is removed.
    #[serde(default)]
    pub name: Option<String>,
    /// Remove the mount of this server (for unnamed mounts).
    #[serde(default)]
    pub job_name: Option<String>,
}

/// `search_mounted_tools`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// What the tool should do, in words (e.g. `current time in Tokyo`).
    #[serde(default)]
    #[schemars(required, length(min = 1, max = 1000))]
    pub query: String,
    /// How many tools to return at most (1 to 50; default 10).
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<usize>,
}

/// One result of `search_mounted_tools`: the tool as `list_mounted_tools` shows it, and how
/// well it matched (higher is better; only the order means something).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FoundTool {
    /// The tool.
    #[serde(flatten)]
    pub tool: MountedTool,
    /// Its score for the query.
    pub score: f64,
}

/// `search_registry`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRegistryParams {
    /// Words the entry's name, title or description must all contain (e.g. `weather`).
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub query: String,
    /// How many entries to return at most (1 to 100; default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<usize>,
}

/// An MCP Registry entry as `search_registry` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RegistryListing {
    /// The name to pass as `registry`.
    pub name: String,
    /// Its display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it does.
    pub description: String,
    /// Its latest version.
    pub version: String,
    /// Its packages, as `type identifier@version`.
    pub packages: Vec<String>,
    /// Its remote endpoints' URLs (mount them with `mount_mcp_server(registry=…)`).
    pub remotes: Vec<String>,
}

/// `call_mounted_tool`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallMountedParams {
    /// The tool's name as `list_mounted_tools` shows it (e.g. `time_get_current_time`).
    #[serde(default)]
    #[schemars(required, length(min = 1))]
    pub name: String,
    /// The tool's arguments.
    #[serde(default)]
    pub arguments: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What `mount_mcp_server` returns: for a job, the server's fields (`job_name`, `config`,
/// `url`, `sse_url`, …) as `create_mcp_server` returned them; always the mount.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MountOutput {
    /// The mounted server, when mounted by job name.
    #[serde(flatten)]
    pub server: Option<crate::model::EphemeralMcpServer>,
    /// The mount.
    pub mount: crate::model::MountInfo,
    /// How many tools the mount added.
    pub tools_added: usize,
    /// Whether tools/list shows the caller's mounted tools now; when not (more than
    /// `--max-listed-tools`), `search_mounted_tools` finds them.
    pub tools_listed: bool,
}

/// What `remove_mcp_server_mount` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RemovedMounts {
    /// The mounts removed.
    pub removed: Vec<crate::model::MountInfo>,
}

/// One entry of `list_mounted_tools`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MountedTool {
    /// The name to pass to `call_mounted_tool` (and as listed in tools/list).
    pub name: String,
    /// The mount it comes from (`null` for an unnamed mount).
    pub mount: Option<String>,
    /// The server it runs on, when mounted by job name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// Its human-readable name, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its arguments (JSON Schema).
    pub input_schema: serde_json::Map<String, serde_json::Value>,
    /// Its structured result (JSON Schema), if it declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<serde_json::Map<String, serde_json::Value>>,
}
