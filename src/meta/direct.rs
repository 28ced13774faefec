//! Direct calls: a `tools/call` of a mounted tool posted on `/mcp` is served here instead
//! of by rmcp's session machinery (its session worker, serve loop, per-request task and
//! response stream): parsed once, routed to the mount and answered as `application/json`.
//! With the direct lane to the child ([`crate::upstream::lane`]) a mounted call costs little
//! more than the extra HTTP round trip (BENCHMARKS.md).
//!
//! It behaves as the rmcp path does: the guard's principal decides what the caller may
//! use, the call has its span and metrics and the call timeout; progress rides the call's
//! own response (which becomes an SSE stream as soon as there is any, as rmcp's JSON
//! response mode does); the child's requests (sampling, elicitation, roots) reach the
//! caller on the session's standalone stream, since only rmcp can take their answers; and
//! `notifications/cancelled` for a direct call is taken here and cancels it. Any other
//! message, or a session this process does not know, goes to rmcp.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use futures::{StreamExt, future, stream};
use http::request::Parts;
use rmcp::{
    ErrorData as McpError,
    model::{
        CallToolResponse, CancelledNotification, ClientJsonRpcMessage, ClientNotification,
        ClientRequest, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, ProgressNotification,
        ProgressNotificationParam, RequestId, RequestMetaObject, ServerJsonRpcMessage,
        ServerNotification, ServerResult,
    },
    service::RequestContext,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{measured, mounted};
use crate::{
    http::shortcut::{Reply, Shortcut, Shortcuts, Taken},
    manager::SessionManager,
    model::Principal,
    upstream::ProgressOutlet,
};

/// The direct calls in flight, by streamable-HTTP session and request id, with what
/// cancels each.
type InFlight = Arc<Mutex<HashMap<(String, RequestId), CancellationToken>>>;

/// Serves calls to mounted tools of the meta-server's streamable-HTTP sessions.
pub struct DirectCalls {
    manager: Arc<SessionManager>,
    in_flight: InFlight,
}

impl DirectCalls {
    /// The shortcut for the daemon's HTTP options.
    pub fn shortcuts(manager: Arc<SessionManager>) -> Shortcuts {
        Shortcuts(Arc::new(Self {
            manager,
            in_flight: InFlight::default(),
        }))
    }

    /// Cancels the direct call `request_id` of `session_id`; false when there is none.
    fn cancel(&self, session_id: &str, request_id: &RequestId) -> bool {
        let key = (session_id.to_owned(), request_id.clone());
        match crate::upstream::lock(&self.in_flight).get(&key) {
            Some(ct) => {
                ct.cancel();
                true
            }
            None => false,
        }
    }
}

impl Shortcut for DirectCalls {
    fn wants(&self, _session_id: &str) -> bool {
        !self.manager.mounts().is_empty()
    }

    fn take(
        &self,
        session_id: &str,
        message: ClientJsonRpcMessage,
        parts: &Parts,
    ) -> Option<Taken> {
        let (id, mut call) = match message {
            JsonRpcMessage::Request(JsonRpcRequest {
                id,
                request: ClientRequest::CallToolRequest(call),
                ..
            }) => (id, call),
            JsonRpcMessage::Notification(JsonRpcNotification {
                notification:
                    ClientNotification::CancelledNotification(CancelledNotification { params, .. }),
                ..
            }) => {
                let cancelled = params
                    .request_id
                    .is_some_and(|id| self.cancel(session_id, &id));
                return cancelled.then_some(Taken::Accepted);
            }
            _ => return None,
        };
        let who = Principal::of_http(parts);
        self.manager.mounts().route_tool(&call.params.name, &who)?;
        let (session, peer) = self.manager.sessions().by_http_id(session_id)?;

        let ct = CancellationToken::new();
        let key = (session_id.to_owned(), id.clone());
        crate::upstream::lock(&self.in_flight).insert(key.clone(), ct.clone());
        let done = Done {
            in_flight: self.in_flight.clone(),
            key,
        };
        // As rmcp does: the request's `_meta` (progress token) first, then the rest of
        // its extensions, with the HTTP request's parts (and the guard's principal).
        let mut context = RequestContext::new(id.clone(), peer);
        context.ct = ct;
        context.extensions = std::mem::take(&mut call.extensions);
        context.meta = context
            .extensions
            .remove::<RequestMetaObject>()
            .unwrap_or_default();
        context.extensions.insert(parts.clone());
        // Progress of the call rides its own response (which then becomes a stream).
        let (outlet, mut progress) = mpsc::unbounded_channel();
        context.extensions.insert(ProgressOutlet(outlet));
        let manager = self.manager.clone();
        // The call runs on its own: a client that drops its POST (as rmcp's does when it
        // cancels) has not cancelled the call until it says so, which it still can.
        let mut call = tokio::spawn(async move {
            let _done = done;
            let tool = call.params.name.to_string();
            let answer = mounted::call_or_unknown(&manager, call.params, context);
            measured(&manager, session, &tool, false, &who, answer).await
        });
        Some(Taken::Answer(Box::pin(async move {
            // Without progress before the answer, the answer alone, as JSON.
            let first = tokio::select! {
                biased;
                Some(params) = progress.recv() => progress_message(params),
                joined = &mut call => return Reply::Message(Box::new(answer_message(joined, id))),
            };
            let rest = stream::unfold(Some((progress, call)), move |state| {
                let id = id.clone();
                async move {
                    let (mut progress, mut call) = state?;
                    tokio::select! {
                        biased;
                        Some(params) = progress.recv() => {
                            Some((progress_message(params), Some((progress, call))))
                        }
                        joined = &mut call => Some((answer_message(joined, id), None)),
                    }
                }
            });
            Reply::Stream(stream::once(future::ready(first)).chain(rest).boxed())
        })))
    }
}

/// A progress notification for the client.
fn progress_message(params: ProgressNotificationParam) -> ServerJsonRpcMessage {
    ServerJsonRpcMessage::notification(ServerNotification::ProgressNotification(
        ProgressNotification::new(params),
    ))
}

/// The answer to request `id` from how its call ended.
fn answer_message(
    joined: Result<Result<CallToolResponse, McpError>, tokio::task::JoinError>,
    id: RequestId,
) -> ServerJsonRpcMessage {
    match joined {
        Ok(Ok(response)) => ServerJsonRpcMessage::response(ServerResult::from(response), id),
        Ok(Err(error)) => ServerJsonRpcMessage::error(error, Some(id)),
        Err(e) => ServerJsonRpcMessage::error(
            McpError::internal_error(format!("the call failed: {e}"), None),
            Some(id),
        ),
    }
}

/// Removes a direct call from the calls in flight when it ends (or its client goes away).
struct Done {
    in_flight: InFlight,
    key: (String, RequestId),
}

impl Drop for Done {
    fn drop(&mut self) {
        crate::upstream::lock(&self.in_flight).remove(&self.key);
    }
}
