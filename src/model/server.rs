//! What the daemon reports about a server: [`EphemeralMcpServer`] and [`ServerStatus`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Ownership;
use super::{EphemeralMcpServerConfig, MountInfo};

/// One running (or starting) MCP server, as returned by `create_mcp_server`,
/// `list_mcp_servers` and `delete_mcp_server`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EphemeralMcpServer {
    /// The server's name: the Job and Service name on Kubernetes. Use it in the other tools.
    pub job_name: String,
    /// The configuration it was created with; `env` values are redacted.
    pub config: EphemeralMcpServerConfig,
    /// Its streamable HTTP endpoint (`…/mcp`), for MCP clients.
    pub url: String,
    /// Its legacy SSE endpoint (`…/sse`), for 2024-11-05 clients.
    pub sse_url: String,
    /// The `Authorization` header value a client must send to `url` and `sse_url`: each
    /// child demands a token of its own. Shown to its owner only (`create_mcp_server`,
    /// `get_mcp_server_status`), never listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
    /// Which backend runs it: `local` or `kubernetes`.
    pub backend: String,
    /// The Kubernetes namespace it runs in (Kubernetes backend only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The preset it was created from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Who may see and use it.
    #[serde(flatten)]
    pub ownership: Ownership,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// Its mount on the meta-server, if it is mounted (and whether that works now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<MountInfo>,
}

/// What `delete_mcp_server` returns: the server as it was, and what was removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeletedServer {
    /// The server as it was before deletion.
    #[serde(flatten)]
    pub server: EphemeralMcpServer,
    /// One line per process or object removed.
    pub removed: Vec<String>,
}

/// The lifecycle phase of a server, with the names Kubernetes uses for pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Phase {
    /// Created; its process or pod is not running yet.
    Pending,
    /// Running; see `ready` for whether it answers MCP.
    Running,
    /// Exited successfully (it stopped serving).
    Succeeded,
    /// Exited with an error or could not start; see `last_error` and `log_tail`.
    Failed,
    /// Being deleted.
    Terminating,
    /// The backend could not tell.
    Unknown,
}

/// The detailed state of one server, as returned by `get_mcp_server_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServerStatus {
    /// When each phase of its start was reached, in order (`created`, `scheduled`,
    /// `started`, `ready`; those this daemon saw), from the create call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timings: Vec<Timing>,
    /// The server's name.
    pub job_name: String,
    /// Which backend runs it.
    pub backend: String,
    /// Where it is in its lifecycle.
    pub phase: Phase,
    /// Whether it answers MCP requests now.
    pub ready: bool,
    /// When it was started (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Its endpoints, as in [`EphemeralMcpServer`].
    pub url: String,
    /// The `Authorization` header value its endpoints demand, for its owner only (as in
    /// [`EphemeralMcpServer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
    /// Its pods (Kubernetes backend).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<PodStatus>,
    /// Conditions of its Job (Kubernetes backend).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Its processes (local backend).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessStatus>,
    /// The most recent error, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The last lines it wrote to stderr (or its pod log).
    pub log_tail: Vec<String>,
    /// Its mount on the meta-server, if it is mounted (and whether that works now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<MountInfo>,
}

/// One pod of a Kubernetes-backed server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PodStatus {
    /// Pod name.
    pub name: String,
    /// Pod phase as Kubernetes reports it.
    pub phase: String,
    /// Pod IP, once assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Whether the pod's Ready condition is true.
    pub ready: bool,
    /// Container restarts.
    pub restarts: i32,
    /// Why it is waiting or terminated (e.g. `ImagePullBackOff`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A Kubernetes-style condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Condition {
    /// Condition type, e.g. `Complete` or `Failed`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The processes of a locally-run server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcessStatus {
    /// PID of the bridge (also its process group).
    pub pid: u32,
    /// PID of the MCP package's process (also its process group), once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_pid: Option<u32>,
    /// The bridge's exit code once it has exited (`null` while running or if killed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// One phase of a child's start and when it was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Timing {
    /// `created` (the process or Job exists), `scheduled` (its pod has a node), `started`
    /// (its bridge or container runs), `ready` (its MCP server answered `initialize`).
    pub phase: String,
    /// Milliseconds after the create call began.
    pub after_ms: u64,
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (`2026-11-29T12:00:00Z`).
pub fn rfc3339(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs = unix_secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_946_399), "2026-11-29T09:59:59Z");
    }
}
