//! [`MountError`]: why a mount operation failed.

use rmcp::{ErrorData as McpError, service::ServiceError};

use crate::{model::with_causes, upstream::UpstreamError};

/// Why a mount operation failed; each message says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// The mount name is not usable.
    #[error("{0}")]
    InvalidName(String),
    /// The tool selection is not usable, or does not fit the server's tools.
    #[error("tools, exclude or rename: {0}")]
    Selection(String),
    /// Another mount has that name.
    #[error(
        "a mount named {0:?} exists already; pick another name or remove it first (remove_mcp_server_mount)"
    )]
    NameTaken(String),
    /// The server is mounted already.
    #[error("{target} is mounted already as {label}; remove that mount first to mount it again")]
    AlreadyMounted {
        /// The job or URL.
        target: String,
        /// The existing mount.
        label: String,
    },
    /// The server could not be reached or did not speak MCP.
    #[error("cannot mount {url}: {}", with_causes(cause))]
    Connect {
        /// The URL tried.
        url: String,
        /// What went wrong.
        cause: UpstreamError,
    },
    /// The server took the session but would not list its tools, resources or prompts.
    #[error("cannot mount {url}: listing its tools failed: {cause}")]
    Listing {
        /// The URL tried.
        url: String,
        /// What the server or the connection said.
        cause: ServiceError,
    },
    /// The URL is this daemon.
    #[error("cannot mount {url}: it is this daemon itself")]
    SelfMount {
        /// The URL.
        url: String,
    },
    /// Mounting would make a loop of meta-servers.
    #[error(
        "cannot mount {url}: it already reaches this daemon through its own mounts, so mounting it would make a cycle"
    )]
    Cycle {
        /// The URL.
        url: String,
    },
    /// Names of the child are taken.
    #[error(
        "cannot mount {label}: these names are taken by the meta tools or another mount: {}; mount it under a name (name=\"…\") or remove the other mount",
        names.join(", ")
    )]
    Collision {
        /// The mount being made.
        label: String,
        /// The taken names.
        names: Vec<String>,
    },
    /// `--max-mounts` mounts exist already.
    #[error(
        "{0} servers are mounted, the most this daemon allows (--max-mounts); remove a mount (remove_mcp_server_mount) first"
    )]
    TooMany(usize),
    /// No mount matched.
    #[error("{0}")]
    NotFound(String),
    /// The mount's server is unreachable right now.
    #[error(
        "{label} is unavailable: {reason}; it reconnects by itself when the server is reachable again"
    )]
    Unavailable {
        /// The mount.
        label: String,
        /// Why.
        reason: String,
    },
    /// The mount was removed (unmounted, or its server deleted) while a call was in flight.
    #[error("{label} was removed while the call was in flight; its tools are gone")]
    Removed {
        /// The mount.
        label: String,
    },
    /// The server answered with an error.
    #[error("{0}")]
    Server(McpError),
}

impl MountError {
    /// Whether trying again may work: the connection or the listing failed (a stream cut
    /// by a proxy, a server still starting), not a refusal or a timeout.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { cause, .. } => !matches!(cause, UpstreamError::Timeout { .. }),
            Self::Listing { .. } => true,
            _ => false,
        }
    }
}
