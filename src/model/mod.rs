//! The data the daemon speaks in: server configurations, servers, statuses and names.

mod config;
mod mount;
pub mod naming;
mod server;

pub(crate) use config::null_as_default;
pub use config::{
    DEFAULT_CHILD_PORT, DEFAULT_RUNTIME_IMAGE, EphemeralMcpServerConfig, ProbeConfig, REDACTED,
    RbacPreset, ServiceAccountConfig, is_env_name,
};
pub use mount::{MountInfo, MountState, MountTransport};
pub use server::{
    Condition, DeletedServer, EphemeralMcpServer, Phase, PodStatus, ProcessStatus, ServerStatus,
    rfc3339, unix_now,
};
