//! Forwarding MCP between one upstream server and many downstream client sessions.
//!
//! The bridge uses this to serve one stdio MCP server to many HTTP clients; mounts use it
//! to reach children. The parts:
//! - [`Upstream`]: one persistent client session to an MCP server (a stdio child process,
//!   or a URL over streamable HTTP or legacy SSE).
//! - [`Downstreams`]: the connected client sessions, and the routes that send the
//!   upstream's notifications (progress, logging, `list_changed`, `resources/updated`) and
//!   requests (sampling, roots, elicitation) to the right one.
//! - [`Forwarder`]: the `ServerHandler` each downstream session runs; it passes every
//!   request to the upstream, with progress tokens remapped and cancellation relayed.

mod downstreams;
mod forwarder;
mod relay;
mod upstream;

pub use downstreams::{CallGuard, Downstreams};
pub use forwarder::{Forwarder, MAX_SERVED_VERSION};
pub use relay::Relay;
pub use upstream::{Upstream, UpstreamError, client_config};

use rmcp::{ErrorData as McpError, service::ServiceError};

/// Turns a failure talking to the upstream into the error the downstream client sees.
pub fn upstream_error(what: &str, error: ServiceError) -> McpError {
    match error {
        ServiceError::McpError(e) => e,
        ServiceError::Cancelled { reason } => McpError::internal_error(
            format!(
                "{what}: the request was cancelled ({})",
                reason.unwrap_or_default()
            ),
            None,
        ),
        ServiceError::Timeout { timeout } => {
            McpError::internal_error(format!("{what}: no answer within {timeout:?}"), None)
        }
        ServiceError::TransportClosed | ServiceError::TransportSend(_) => McpError::internal_error(
            format!("{what}: the connection to the MCP server is closed ({error})"),
            None,
        ),
        other => McpError::internal_error(format!("{what}: {other}"), None),
    }
}
