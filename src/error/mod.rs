//! The one error type of the library API ([`crate::SessionManager`] and the backends).
//!
//! Its variants mirror the exceptions of the Python original (`MCPJobNotFoundError`,
//! `MCPJobTimeoutError`, …) so users porting code find the same cases, and every message
//! names the cause and what to do next. The meta-server turns these into MCP tool
//! errors (`isError: true`) with the message as text.

mod mount;

use std::time::Duration;

pub use crate::model::with_causes;
pub use mount::MountError;

/// Everything that can go wrong while creating, inspecting or deleting an MCP server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No usable Kubernetes configuration (kubeconfig or in-cluster).
    #[error(
        "invalid kube config: {0}; set KUBECONFIG, run inside a cluster, or use --backend local"
    )]
    InvalidKubeConfig(String),

    /// `runtime_exec`/`runtime_mcp` (or `preset`) do not describe a runnable server.
    #[error("invalid runtime: {0}")]
    InvalidRuntime(String),

    /// A field of the request is not acceptable; the message names it and says why.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The offending parameter, as the caller spelled it.
        field: String,
        /// Why it was refused and how to fix it.
        reason: String,
    },

    /// No preset of that name exists.
    #[error("unknown preset {name:?}; available presets: {available}")]
    UnknownPreset {
        /// The name that was asked for.
        name: String,
        /// The names that do exist, comma-separated.
        available: String,
    },

    /// The server started but failed (its process exited, or its pod failed).
    #[error(
        "MCP job error: job_name={job_name:?} - {reason}{}",
        format_tail(log_tail)
    )]
    Job {
        /// The server that failed.
        job_name: String,
        /// What happened, e.g. "process exited with status 1".
        reason: String,
        /// The last lines the server wrote to stderr (or its pod log).
        log_tail: Vec<String>,
    },

    /// No server with that name is known to this daemon.
    #[error(
        "failed to find MCP job: job_name={job_name:?}; call list_mcp_servers to see the servers that exist"
    )]
    JobNotFound {
        /// The name that was asked for.
        job_name: String,
    },

    /// The server did not become ready in time. It has been deleted.
    #[error(
        "MCP job timed out: job_name={job_name:?} was not ready after {timeout:?} and was deleted; \
         a first uvx/npx run may need longer (raise ready_timeout_secs){}",
        format_tail(log_tail)
    )]
    JobTimeout {
        /// The server that was too slow.
        job_name: String,
        /// How long it was given.
        timeout: Duration,
        /// The last lines the server wrote while starting.
        log_tail: Vec<String>,
    },

    /// The configured namespace does not exist.
    #[error(
        "namespace {0:?} not found; create it (kubectl create namespace {0}) or pass --namespace"
    )]
    NamespaceNotFound(String),

    /// Creating the server's process or objects failed; nothing was left behind.
    #[error("failed to create MCP server: {0}")]
    ServerCreation(String),

    /// A Kubernetes API call other than a create failed (get, list, watch, patch, delete);
    /// the message names the call and what to do.
    #[error("{0}")]
    Kubernetes(String),

    /// The daemon's credentials do not allow an operation it needs.
    #[error(
        "forbidden: the daemon may not {verb} {resource}; grant it in the daemon's Role (see deploy/)"
    )]
    Forbidden {
        /// The API verb that was refused, e.g. `create`.
        verb: String,
        /// The resource it was refused on, e.g. `jobs`.
        resource: String,
    },

    /// A configured limit would be exceeded; nothing was created.
    #[error("limit reached: {0}")]
    LimitReached(String),

    /// The request is valid but not allowed by this daemon's policy.
    #[error("not allowed: {0}")]
    NotAllowed(String),

    /// Mounting or unmounting failed.
    #[error(transparent)]
    Mount(#[from] MountError),

    /// An operating-system call failed (spawning a process, signalling it, …).
    #[error("{context}: {source}")]
    Io {
        /// What the daemon was doing.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl From<crate::model::ConfigError> for Error {
    fn from(error: crate::model::ConfigError) -> Self {
        match error {
            crate::model::ConfigError::Runtime(reason) => Self::InvalidRuntime(reason),
            crate::model::ConfigError::Input { field, reason } => {
                Self::InvalidInput { field, reason }
            }
        }
    }
}

impl Error {
    /// Wraps an [`std::io::Error`] with a sentence saying what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Renders a log tail as a readable block appended to a message, or nothing when empty.
fn format_tail(tail: &[String]) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!(
            "\n--- last {} line(s) of output ---\n{}",
            tail.len(),
            tail.join("\n")
        )
    }
}

/// The result type of the library API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_error_carries_its_log_tail() {
        let err = Error::Job {
            job_name: "time-1-abcdefgh".into(),
            reason: "process exited with status 2".into(),
            log_tail: vec!["error: package not found".into()],
        };
        let text = err.to_string();
        assert!(text.starts_with("MCP job error: job_name=\"time-1-abcdefgh\""));
        assert!(text.ends_with("error: package not found"));
    }

    #[test]
    fn not_found_says_how_to_list() {
        let text = Error::JobNotFound {
            job_name: "nope".into(),
        }
        .to_string();
        assert!(text.contains("list_mcp_servers"), "{text}");
    }
}
