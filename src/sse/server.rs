//! Legacy SSE server: `GET /sse` opens a session and streams server messages as `message`
//! events after an `endpoint` event naming `/messages/?session_id=ID`; clients `POST` their
//! JSON-RPC messages there.
//!
//! Each session runs the handler made by the factory on a pair of bounded channels, so a
//! client that stops reading holds at most [`SESSION_QUEUE`] messages in memory. The session
//! ends, and its handler is cancelled, when the client drops the stream or the server's
//! cancellation token fires.

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    extract::{Query, Request, State},
    http::{StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::{get, post},
};
use futures::{SinkExt, Stream, StreamExt, channel::mpsc};
use rmcp::{
    ServerHandler, ServiceExt,
    model::{ClientJsonRpcMessage, GetExtensions},
};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::model::{Principal, SessionLimits};

/// Messages queued per session and direction before the sender waits: bounds the memory a
/// slow or stalled client can hold.
pub const SESSION_QUEUE: usize = 64;

/// How long a `POST` waits for room in its session's queue before 503.
const POST_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The path clients post to; the `endpoint` event names it with the session id.
pub const MESSAGES_PATH: &str = "/messages/";

/// Live sessions by id.
type Sessions = Arc<Mutex<HashMap<String, Entry>>>;

/// One live session: where its messages go, the principal that opened it (the only one
/// that may post to it), and what its idle timer waits on.
struct Entry {
    sender: mpsc::Sender<ClientJsonRpcMessage>,
    owner: Principal,
    /// Notified on every post: the session is not idle.
    active: Arc<tokio::sync::Notify>,
}

/// Shared state of the legacy SSE routes.
struct SseState<F> {
    factory: F,
    /// Live sessions by id. A std mutex: held only to insert, remove or clone a sender.
    sessions: Sessions,
    /// Cancelled on shutdown: ends every stream and session.
    ct: CancellationToken,
    /// Caps and timeouts of the sessions.
    limits: SessionLimits,
}

/// The `GET /sse` and `POST /messages/` routes serving handlers made by `factory`.
/// The factory may refuse (e.g. while the server behind it is starting); the client then
/// gets 503 with the error's text.
pub fn router<H, F>(factory: F, ct: CancellationToken, limits: SessionLimits) -> Router
where
    H: ServerHandler,
    F: Fn() -> std::io::Result<H> + Send + Sync + 'static,
{
    let state = Arc::new(SseState {
        factory,
        sessions: Sessions::default(),
        ct,
        limits,
    });
    Router::new()
        .route("/sse", get(open_stream::<H, F>))
        .route(MESSAGES_PATH, post(post_message::<H, F>))
        .route("/messages", post(post_message::<H, F>))
        .with_state(state)
}

/// Removes a session from the table and cancels its handler when the stream is dropped.
struct SessionGuard {
    id: String,
    sessions: Sessions,
    ct: CancellationToken,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.ct.cancel();
        crate::sync::lock(&self.sessions).remove(&self.id);
        tracing::debug!(session = %self.id, "sse session closed");
    }
}

async fn open_stream<H, F>(State(state): State<Arc<SseState<F>>>, request: Request) -> Response
where
    H: ServerHandler,
    F: Fn() -> std::io::Result<H> + Send + Sync + 'static,
{
    let (parts, _) = request.into_parts();
    let owner = Principal::of_http(&parts);
    let refusal = {
        let sessions = crate::sync::lock(&state.sessions);
        let mine = sessions.values().filter(|e| e.owner == owner).count();
        state.limits.refusal(mine, sessions.len())
    };
    if let Some(refusal) = refusal {
        return (StatusCode::TOO_MANY_REQUESTS, refusal).into_response();
    }
    match (state.factory)() {
        Ok(handler) => session_stream(&state, handler, owner).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

fn session_stream<H, F>(
    state: &SseState<F>,
    handler: H,
    owner: Principal,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<H, F>>
where
    H: ServerHandler,
{
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (to_server, from_client) = mpsc::channel::<ClientJsonRpcMessage>(SESSION_QUEUE);
    let (to_client, from_server) = mpsc::channel(SESSION_QUEUE);
    let active = Arc::new(tokio::sync::Notify::new());
    let entry = Entry {
        sender: to_server,
        owner,
        active: active.clone(),
    };
    crate::sync::lock(&state.sessions).insert(id.clone(), entry);
    let ct = state.ct.child_token();
    let session_ct = ct.clone();
    let session = id.clone();
    let limits = state.limits;
    tokio::spawn(async move {
        let serving = handler.serve_with_ct((to_client, from_client), session_ct.clone());
        match tokio::time::timeout(limits.init_timeout, serving).await {
            Ok(Ok(running)) => {
                let idle = idle_timer(&active, limits.idle_timeout);
                tokio::select! {
                    _ = running.waiting() => {}
                    () = idle => {
                        tracing::debug!(%session, "sse session idle; closing it");
                        session_ct.cancel();
                    }
                }
            }
            Ok(Err(e)) => {
                tracing::debug!(%session, cause = %e, "sse session ended before initialize")
            }
            Err(_) => {
                tracing::debug!(%session, "sse session did not initialize in time; closing it");
                session_ct.cancel();
            }
        }
    });
    tracing::debug!(session = %id, "sse session opened");

    let guard = SessionGuard {
        id: id.clone(),
        sessions: state.sessions.clone(),
        ct: ct.clone(),
    };
    let endpoint = Event::default()
        .event("endpoint")
        .data(format!("{MESSAGES_PATH}?session_id={id}"));
    let messages = from_server.map(move |message| {
        let _keep_session_while_streaming = &guard;
        let data = serde_json::to_string(&message).unwrap_or_else(|e| {
            tracing::error!(cause = %e, "unserializable server message");
            String::new()
        });
        Ok(Event::default().event("message").data(data))
    });
    let stream = futures::stream::once(async { Ok(endpoint) })
        .chain(messages)
        .take_until(ct.cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Returns once `active` has not been notified for `idle`.
async fn idle_timer(active: &tokio::sync::Notify, idle: std::time::Duration) {
    while tokio::time::timeout(idle, active.notified()).await.is_ok() {}
}

#[derive(Deserialize)]
struct SessionQuery {
    session_id: Option<String>,
}

async fn post_message<H, F>(
    State(state): State<Arc<SseState<F>>>,
    Query(query): Query<SessionQuery>,
    request: Request,
) -> Response
where
    H: ServerHandler,
    F: Fn() -> std::io::Result<H> + Send + Sync + 'static,
{
    let Some(id) = query.session_id else {
        return plain(
            StatusCode::BAD_REQUEST,
            "session_id is required: open GET /sse first and post to the endpoint it names",
        );
    };
    let (parts, body) = request.into_parts();
    // A session answers only the principal that opened it: to anyone else it does not
    // exist (its id is not a capability).
    let who = Principal::of_http(&parts);
    let sender = crate::sync::lock(&state.sessions)
        .get(&id)
        .filter(|entry| entry.owner == who)
        .map(|entry| {
            entry.active.notify_one();
            entry.sender.clone()
        });
    let Some(mut sender) = sender else {
        return plain(
            StatusCode::NOT_FOUND,
            "Could not find session: it ended or never existed; open GET /sse again",
        );
    };
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => return too_large_or_bad(&e),
    };
    let mut message = match parse_message(&body) {
        Ok(message) => message,
        Err((code, message)) => return jsonrpc_error(code, message),
    };
    // As rmcp's streamable HTTP server does: the HTTP request (and what middleware put in
    // its extensions, such as the caller's identity) travels with the message.
    match &mut message {
        ClientJsonRpcMessage::Request(request) => {
            request.request.extensions_mut().insert(parts);
        }
        ClientJsonRpcMessage::Notification(notification) => {
            notification.notification.extensions_mut().insert(parts);
        }
        _ => {}
    }
    match tokio::time::timeout(POST_WAIT, sender.send(message)).await {
        Ok(Ok(())) => (StatusCode::ACCEPTED, "Accepted").into_response(),
        Ok(Err(_)) => plain(
            StatusCode::NOT_FOUND,
            "Could not find session: it has ended; open GET /sse again",
        ),
        Err(_) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the session is not reading its event stream (GET /sse), so its queue is full; read the stream, then retry",
        ),
    }
}

/// Parses one JSON-RPC message, or gives the JSON-RPC error code and message saying what
/// is wrong.
fn parse_message(body: &[u8]) -> Result<ClientJsonRpcMessage, (i32, String)> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| (-32700, format!("Parse error: the body is not JSON: {e}")))?;
    serde_json::from_value(value).map_err(|e| {
        let reason =
            format!("Invalid Request: not a JSON-RPC 2.0 request, notification or response: {e}");
        (-32600, reason)
    })
}

fn jsonrpc_error(code: i32, message: String) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": code, "message": message },
    });
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A body the size limit cut off is 413; any other read failure 400.
fn too_large_or_bad(error: &axum::Error) -> Response {
    let too_large = std::error::Error::source(error)
        .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
    if too_large {
        plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large (--max-body-bytes)",
        )
    } else {
        plain(
            StatusCode::BAD_REQUEST,
            "the request body could not be read",
        )
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}
