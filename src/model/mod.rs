//! The data the daemon speaks in: server configurations, servers, statuses, names,
//! ownership, and what the bridge reports to its parent. It imports nothing else of the crate.

mod bridge_event;
mod config;
mod invalid;
mod mount;
pub mod naming;
mod ownership;
mod package;
mod pattern;
mod server;

pub use bridge_event::BridgeEvent;
pub(crate) use config::null_as_default;
pub use config::{
    DEFAULT_CHILD_PORT, DEFAULT_RUNTIME_IMAGE, EphemeralMcpServerConfig, ProbeConfig, REDACTED,
    RbacPreset, ServiceAccountConfig, is_env_name,
};
pub use invalid::ConfigError;
pub use mount::{MountInfo, MountState, MountTransport};
pub use ownership::{LOCAL, Ownership, Principal};
pub use package::PackageSpec;
pub use pattern::glob_match;
pub use server::{
    Condition, DeletedServer, EphemeralMcpServer, Phase, PodStatus, ProcessStatus, ServerStatus,
    rfc3339, unix_now,
};

/// The environment variable holding the log filter (`info`, `debug`,
/// `mcp_ephemeral_k8s=trace`…); `RUST_LOG` is read when it is unset.
pub const LOG_ENV: &str = "MCP_EPHEMERAL_K8S_LOG";

/// The environment variable that gives a bridge the token it demands of every client
/// (out of band: a command line is visible to every user of the machine).
pub const BRIDGE_TOKEN_ENV: &str = "MCP_EPHEMERAL_K8S_BRIDGE_TOKEN";

/// A new random token (256 bits, hex), for a child's bridge.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
