//! Forwarding MCP between upstream servers and downstream client sessions.
//!
//! The bridge uses this to serve one stdio MCP server to many HTTP clients; mounts use it
//! to reach children. The parts:
//! - [`Upstream`]: one persistent client session to an MCP server (a stdio child process,
//!   or a URL over streamable HTTP or legacy SSE), and [`Upstream::forward`], which passes a
//!   downstream request on with progress and cancellation relayed; on streamable HTTP
//!   it posts requests on the session itself ([`session_post`]).
//! - [`ClientSessions`]: the connected downstream sessions, for broadcasts and subscriptions.
//! - [`Calls`]: one upstream's calls in flight, so progress and server-to-client requests
//!   reach the client that made the call.
//! - [`Relay`]: the upstream session's client handler, emitting [`UpstreamEvent`]s.
//! - [`wire_order`]: what only the order of messages on the wire tells: a call's answer
//!   waits for the progress sent before it, and log lines go to their call, in order.
//! - [`decode`]: decoding of a `tools/call` and its answer, the hot path's messages.
//! - [`Forwarder`]: the `ServerHandler` that serves a downstream session of the bridge.
//! - [`Rounds`]: calls of 2026-07-28 clients whose server asks them things the older way,
//!   asked in `input_required` rounds; `modern`: upstreams of 2026-07-28 (discover-first
//!   connection, list changes from a listen stream).

mod calls;
mod connection;
mod connector;
pub mod decode;
mod downstream;
mod forwarder;
mod listeners;
mod modern;
mod outbox;
mod posted;
mod relay;
mod resume;
mod rounds;
pub mod session_post;
mod stream_watch;
#[cfg(test)]
mod test_peer;
pub mod wire_order;

pub use calls::{Ask, CallGuard, Caller, Calls};
pub use connection::{Upstream, client_config};
pub use connector::{
    CONNECT_TIMEOUT, Connected, Connector, Reach, UpstreamError, connect, url_connector, within,
};
pub use downstream::ClientSessions;
pub use forwarder::{Forwarder, MAX_SERVED_VERSION, relay_events};
pub use listeners::MAX_LISTENERS_PER_PRINCIPAL;
pub use posted::is_stream_failure;
pub use relay::{LogOrigin, Relay, UpstreamEvent};
pub use rounds::{Rounds, RunningCall};

use rmcp::{
    ErrorData as McpError,
    model::{CallToolResponse, ResultType, ServerResult},
    service::ServiceError,
};

/// The answer to a `tools/call` as the handler returns it, or `None` when `result` is
/// not one an upstream may give to `tools/call`.
pub fn tool_call_response(result: ServerResult) -> Option<CallToolResponse> {
    match result {
        ServerResult::CallToolResult(result) => Some(CallToolResponse::Complete(result)),
        ServerResult::InputRequiredResult(result) => Some(CallToolResponse::InputRequired(result)),
        ServerResult::CreateTaskResult(result) => Some(CallToolResponse::Task(result)),
        _ => None,
    }
}

/// `result` with the `resultType` 2026-07-28 requires: a server of an older revision sends
/// none, which the spec reads as `"complete"`. rmcp strips `"complete"` again for clients
/// of older revisions, so every client gets the shape of its own revision.
pub fn with_result_type(mut result: ServerResult) -> ServerResult {
    let result_type = match &mut result {
        ServerResult::CompleteResult(r) => &mut r.result_type,
        ServerResult::GetPromptResult(r) => &mut r.result_type,
        ServerResult::ListPromptsResult(r) => &mut r.result_type,
        ServerResult::ListResourcesResult(r) => &mut r.result_type,
        ServerResult::ListResourceTemplatesResult(r) => &mut r.result_type,
        ServerResult::ReadResourceResult(r) => &mut r.result_type,
        ServerResult::ListToolsResult(r) => &mut r.result_type,
        ServerResult::CallToolResult(r) => &mut r.result_type,
        _ => return result,
    };
    result_type.get_or_insert(ResultType::COMPLETE);
    result
}

/// Whether a request with `meta`, on the session of `peer`, comes from a client of a
/// revision without `initialize` (2026-07-28 on): the request's own protocol version, else
/// its session's (as rmcp decides on its own path).
pub fn is_modern(
    meta: Option<&rmcp::model::RequestMetaObject>,
    peer: &rmcp::Peer<rmcp::RoleServer>,
) -> bool {
    let version = meta
        .and_then(rmcp::model::RequestMetaObject::protocol_version)
        .or_else(|| peer.peer_info().map(|info| info.protocol_version.clone()));
    version.is_some_and(|v| !v.has_initialize())
}

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
            format!(
                "{what}: the connection to the MCP server is closed ({})",
                describe(&error)
            ),
            None,
        ),
        other => McpError::internal_error(format!("{what}: {other}"), None),
    }
}

/// `error` in words for a person: a transport failure says what failed, without the
/// transport's type name that rmcp puts first.
pub fn describe(error: &ServiceError) -> String {
    match error {
        ServiceError::TransportSend(e) => connector::transport_cause(&*e.error),
        ServiceError::TransportClosed => "the connection was closed".to_owned(),
        other => other.to_string(),
    }
}
