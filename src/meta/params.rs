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
    /// The MCP package to run, e.g. `mcp-server-time` or
    /// `@modelcontextprotocol/server-filesystem`. Required unless `preset` is given.
    #[serde(default)]
    pub runtime_mcp: Option<String>,
    /// Arguments for the package, split shell-style, e.g. `/tmp` for the filesystem server.
    /// With `preset`, replaces the preset's arguments when not empty.
    #[serde(default)]
    pub runtime_args: String,
    /// Environment variables for the server (e.g. API tokens). Values are never echoed
    /// back. With `preset`, added to the preset's.
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
