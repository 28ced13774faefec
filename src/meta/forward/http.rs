//! [`MountedCalls`]: the layer in front of `/mcp` that serves a `tools/call` of a mounted
//! tool, posted on an established streamable-HTTP session, without rmcp's session
//! machinery (its session worker, serve loop, per-request task and response stream): the
//! body is decoded once, the tool routed once, and the answer sent as `application/json`
//! — or as an SSE stream as soon as there is progress, as rmcp's JSON response mode does.
//!
//! It behaves as the rmcp path does: the guard's principal decides what the caller may
//! use; the call has its span, metrics and call timeout; the child's requests (sampling,
//! elicitation, roots) reach the caller on the session's standalone stream, since only
//! rmcp can take their answers; `notifications/cancelled` for a call served here is taken
//! here and cancels it. Every other request, and any session this process does not know,
//! passes on to rmcp unchanged.

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use axum::{
    body::Body,
    extract::Request,
    http::{Method, StatusCode, request::Parts},
    response::{IntoResponse, Response},
};
use futures::{
    StreamExt,
    future::{self, BoxFuture},
    stream,
};
use rmcp::{
    ErrorData as McpError,
    model::{
        CallToolResponse, CancelledNotification, ClientJsonRpcMessage, ClientNotification,
        ClientRequest, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest,
        ProgressNotificationParam, RequestId, RequestMetaObject, ServerJsonRpcMessage,
    },
    transport::common::http_header::HEADER_SESSION_ID,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tower::{Layer, Service};

use super::{
    RoutedCall,
    replay::Replays,
    response::{
        Shape, answer_message, event_stream, json_response, progress_message, rmcp_refuses,
    },
};
use crate::{
    manager::SessionManager,
    meta::measure::measured,
    model::Principal,
    sync::lock,
    upstream::{Caller, decode},
};

/// The session a `DELETE /mcp` ends.
fn deleted_session(request: &Request) -> Option<String> {
    if request.method() != Method::DELETE || request.uri().path() != "/mcp" {
        return None;
    }
    let id = request.headers().get(HEADER_SESSION_ID)?.to_str().ok()?;
    Some(id.to_owned())
}

/// The calls served here and still running, by streamable-HTTP session and request id,
/// with what cancels each.
type InFlight = Arc<Mutex<HashMap<(String, RequestId), CancellationToken>>>;

/// Serves mounted tool calls of the meta-server's streamable-HTTP sessions; a
/// [`tower::Layer`] for the routes of [`crate::http::router`].
#[derive(Clone)]
pub struct MountedCalls {
    manager: Arc<SessionManager>,
    in_flight: InFlight,
    /// The SSE answers served here, for clients that resume them.
    replays: Arc<Replays>,
}

impl MountedCalls {
    /// The layer for the daemon's MCP routes.
    pub fn layer(manager: Arc<SessionManager>) -> Self {
        Self {
            manager,
            in_flight: InFlight::default(),
            replays: Arc::default(),
        }
    }

    /// Serves `request` if it is a mounted tool call (or its cancellation) of a known
    /// session; passes it to `next` otherwise.
    async fn serve<S>(self, request: Request, next: S) -> Response
    where
        S: Service<Request, Response = Response, Error = Infallible>,
    {
        if let Some(resumed) = self.resume(&request) {
            return resumed;
        }
        if let Some(http_id) = deleted_session(&request) {
            let response = pass(next, request).await;
            if response.status().is_success() {
                // rmcp stops the session's handlers only after draining them for seconds.
                self.manager.sessions().end_http(&http_id);
            }
            return response;
        }
        let Some(session_id) = self.session_of(&request) else {
            return pass(next, request).await;
        };
        let (parts, body) = request.into_parts();
        // The body limit layer in front caps what this reads.
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => bytes,
            Err(e) => return crate::http::answers::unreadable(&e),
        };
        let message = decode::client_message(&bytes).ok();
        match message.and_then(|message| self.take(&session_id, message, &parts)) {
            Some(Taken::Call(answer)) => answer.await,
            Some(Taken::Cancellation) => StatusCode::ACCEPTED.into_response(),
            None => pass(next, Request::from_parts(parts, Body::from(bytes))).await,
        }
    }

    /// `GET /mcp` resuming one of the streams served here (its `Last-Event-ID` is one of
    /// ours): the events after that one, and those still to come; `404` when the stream is
    /// gone. `None` for any other request.
    fn resume(&self, request: &Request) -> Option<Response> {
        if request.method() != Method::GET || request.uri().path() != "/mcp" {
            return None;
        }
        let last = request.headers().get("last-event-id")?.to_str().ok()?;
        if !Replays::is_ours(last) {
            return None;
        }
        let session = request.headers().get(HEADER_SESSION_ID)?.to_str().ok()?;
        Some(match self.replays.resume(session, last) {
            Some((replay, seen)) => event_stream(replay.events_after(seen)),
            None => (
                StatusCode::NOT_FOUND,
                "that stream is gone: its call ended more than a minute ago, or it was not \
                 this session's",
            )
                .into_response(),
        })
    }

    /// The session id of a `POST /mcp` that may be for this layer (checked before the body
    /// is read): something is mounted, and rmcp would not refuse the request unread.
    fn session_of(&self, request: &Request) -> Option<String> {
        if request.method() != Method::POST || request.uri().path() != "/mcp" {
            return None;
        }
        let id = request.headers().get(HEADER_SESSION_ID)?.to_str().ok()?;
        let wanted = !self.manager.mounts().is_empty() && !rmcp_refuses(request.headers());
        wanted.then(|| id.to_owned())
    }

    /// Takes `message` of `session_id` if it is a mounted tool call or the cancellation of
    /// one served here; `None` leaves it to rmcp.
    fn take(
        &self,
        session_id: &str,
        message: ClientJsonRpcMessage,
        parts: &Parts,
    ) -> Option<Taken> {
        let (id, call) = match message {
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
                return cancelled.then_some(Taken::Cancellation);
            }
            _ => return None,
        };
        let who = Principal::of_http(parts);
        // rmcp's decoding moves the request's `_meta` into its extensions.
        let meta = call.extensions.get::<RequestMetaObject>().cloned();
        let progress_token = meta
            .as_ref()
            .and_then(RequestMetaObject::get_progress_token);
        let tool = call.params.name.to_string();
        let routed = RoutedCall::route(&self.manager, call.params, &who)?;
        let (session, peer) = self.manager.sessions().by_http_id(session_id)?;
        let shape = Shape::of(meta.as_ref(), &peer);
        let stream = AnswerStream {
            replays: self.replays.clone(),
            session: session_id.to_owned(),
            primed: primes(&peer),
        };

        let ct = CancellationToken::new();
        let Some(entry) = InFlightEntry::new(&self.in_flight, session_id, &id, ct.clone()) else {
            // A second call with the id of one in flight: refused, so a cancel of that id
            // still reaches the first.
            let error = McpError::invalid_request(
                format!(
                    "request id {id} is already in use by a call in flight on this session; use a new id"
                ),
                None,
            );
            let response = json_response(&ServerJsonRpcMessage::error(error, Some(id)));
            return Some(Taken::Call(Box::pin(future::ready(response))));
        };
        // Progress of the call rides its own response (which then becomes a stream).
        let (progress_stream, progress) = mpsc::unbounded_channel();
        let caller = Caller {
            peer,
            request_id: id.clone(),
            progress_token,
            tool_call: true,
            progress_stream: Some(progress_stream),
            session: Some(session),
            asks: None,
        };
        let manager = self.manager.clone();
        // The call runs on its own: a client that drops its POST (as rmcp's does when it
        // cancels) has not cancelled the call until it says so, which it still can.
        let call = self.manager.tasks().spawn(async move {
            let _entry = entry;
            let answer = async { Ok(routed.answer(&manager, caller, &ct).await) };
            measured(&manager, session, &tool, false, &who, answer).await
        });
        Some(Taken::Call(Box::pin(respond(
            id, call, progress, shape, stream,
        ))))
    }

    /// Cancels the call `request_id` of `session_id` served here; false when there is none.
    fn cancel(&self, session_id: &str, request_id: &RequestId) -> bool {
        let key = (session_id.to_owned(), request_id.clone());
        match lock(&self.in_flight).get(&key) {
            Some(ct) => {
                ct.cancel();
                true
            }
            None => false,
        }
    }
}

/// What [`MountedCalls`] does with a message it takes.
enum Taken {
    /// It answers the call.
    Call(BoxFuture<'static, Response>),
    /// It cancelled a call it serves (answered `202 Accepted`).
    Cancellation,
}

type CallTask = tokio::task::JoinHandle<Result<CallToolResponse, McpError>>;

/// Where a call's answer goes once it becomes an SSE stream.
struct AnswerStream {
    replays: Arc<Replays>,
    /// The streamable-HTTP session.
    session: String,
    /// Whether the client gets a priming event (2025-11-25 and later).
    primed: bool,
}

/// Whether the client of `peer` negotiated 2025-11-25 or later, whose SDKs expect a priming
/// event (older ones take its empty data for a broken message).
fn primes(peer: &rmcp::Peer<rmcp::RoleServer>) -> bool {
    peer.peer_info().is_some_and(|info| {
        info.protocol_version.as_str() >= rmcp::model::ProtocolVersion::V_2025_11_25.as_str()
    })
}

/// The response to call `id`: its answer alone as JSON, or — when progress comes first —
/// an SSE stream of the progress and then the answer, kept for a client that resumes it.
async fn respond(
    id: RequestId,
    mut call: CallTask,
    mut progress: mpsc::UnboundedReceiver<ProgressNotificationParam>,
    shape: Shape,
    stream: AnswerStream,
) -> Response {
    let first = tokio::select! {
        biased;
        Some(params) = progress.recv() => progress_message(params),
        joined = &mut call => return json_response(&answer_message(joined, id, shape)),
    };
    let replay = stream.replays.start(&stream.session);
    replay.push(&first, false);
    // Written on its own, so the answer is there for a client that lost the stream.
    let writer = replay.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                Some(params) = progress.recv() => writer.push(&progress_message(params), false),
                joined = &mut call => {
                    writer.push(&answer_message(joined, id, shape), true);
                    return;
                }
            }
        }
    });
    let priming = stream.primed.then(|| replay.priming());
    let events = stream::iter(priming).chain(replay.events_after(0));
    event_stream(events.boxed())
}

/// A call's entry among the calls in flight, removed when the call ends (or its client
/// goes away).
struct InFlightEntry {
    in_flight: InFlight,
    key: (String, RequestId),
}

impl InFlightEntry {
    /// Records call `id` of `session_id`; `None` when a call with that id is in flight.
    fn new(
        in_flight: &InFlight,
        session_id: &str,
        id: &RequestId,
        ct: CancellationToken,
    ) -> Option<Self> {
        let key = (session_id.to_owned(), id.clone());
        match lock(in_flight).entry(key.clone()) {
            std::collections::hash_map::Entry::Occupied(_) => return None,
            std::collections::hash_map::Entry::Vacant(slot) => slot.insert(ct),
        };
        Some(Self {
            in_flight: in_flight.clone(),
            key,
        })
    }
}

impl Drop for InFlightEntry {
    fn drop(&mut self) {
        lock(&self.in_flight).remove(&self.key);
    }
}

/// Hands `request` on to `next`, which cannot fail.
async fn pass<S>(mut next: S, request: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    match next.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

impl<S> Layer<S> for MountedCalls {
    type Service = MountedCallsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MountedCallsService {
            calls: self.clone(),
            inner,
        }
    }
}

/// [`MountedCalls`] in front of the service `S`.
#[derive(Clone)]
pub struct MountedCallsService<S> {
    calls: MountedCalls,
    inner: S,
}

impl<S> Service<Request> for MountedCallsService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was polled ready serves this request; a fresh clone stays.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let calls = self.calls.clone();
        Box::pin(async move { Ok(calls.serve(request, inner).await) })
    }
}
