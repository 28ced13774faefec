//! What users see of mounts: [`MountInfo`], [`MountState`] and [`MountTransport`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Ownership;

/// The MCP transport a mount uses to reach its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MountTransport {
    /// Streamable HTTP (`…/mcp`), protocol 2025-03-26 and later.
    StreamableHttp,
    /// Legacy HTTP+SSE (`…/sse`), protocol 2024-11-05.
    Sse,
}

impl MountTransport {
    /// The transport a URL implies: legacy SSE for URLs ending in `/sse`, else streamable HTTP.
    pub fn for_url(url: &str) -> Self {
        if url.trim_end_matches('/').ends_with("/sse") {
            Self::Sse
        } else {
            Self::StreamableHttp
        }
    }
}

/// Whether a mount reaches its server now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MountState {
    /// Requests go through.
    Connected,
    /// The server is unreachable; the mount is reconnecting.
    Broken,
}

/// A mount as users see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MountInfo {
    /// The prefix of its names; `null` for an unnamed mount.
    pub name: Option<String>,
    /// The server it reaches, when mounted by job name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// The endpoint it connects to.
    pub url: String,
    /// How it connects.
    pub transport: MountTransport,
    /// The server's name and version.
    pub server: String,
    /// Who may see and use it (the owner of its server, or who mounted the URL).
    #[serde(flatten)]
    pub ownership: Ownership,
    /// Whether it reaches its server now.
    pub state: MountState,
    /// The tools it adds, as the meta-server lists them.
    pub tools: Vec<String>,
    /// Which of the server's tools it keeps and renames (absent: all, as named).
    #[serde(default, skip_serializing_if = "super::ToolSelection::is_all")]
    pub selection: super::ToolSelection,
    /// The prompts it adds.
    pub prompts: Vec<String>,
    /// How many resources it adds.
    pub resources: usize,
    /// How many resource templates it adds.
    pub resource_templates: usize,
    /// How often it reconnected.
    pub reconnects: u32,
    /// Why it is broken, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What a child remembers of its mount (on Kubernetes, in its Job's annotations), for a
/// restarted daemon to mount it again as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountRecord {
    /// The mount's name; `None` for an unnamed mount.
    pub name: Option<String>,
    /// Its tool selection.
    pub selection: super::ToolSelection,
}
