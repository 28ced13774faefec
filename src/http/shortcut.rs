//! A way past rmcp for some `POST /mcp` messages: a [`Shortcut`] may serve a message of an
//! established streamable-HTTP session itself (the daemon does so for calls to mounted
//! tools, see [`crate::meta::direct`]); everything it leaves goes to rmcp unchanged. It
//! runs behind the guard, the readiness check and the body limit, like rmcp.

use std::{fmt, sync::Arc};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::{StreamExt, future::BoxFuture, stream::BoxStream};
use rmcp::model::{ClientJsonRpcMessage, ProtocolVersion, ServerJsonRpcMessage};

/// The header naming a streamable-HTTP session.
pub const SESSION_ID_HEADER: &str = "mcp-session-id";

/// The header with the protocol version a streamable-HTTP client speaks.
const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";

/// How a shortcut answers a request.
pub enum Reply {
    /// One JSON-RPC message, sent as `application/json`.
    Message(Box<ServerJsonRpcMessage>),
    /// Messages about the request (progress) and then its answer, sent as an SSE stream.
    Stream(BoxStream<'static, ServerJsonRpcMessage>),
}

/// What a shortcut does with one message.
pub enum Taken {
    /// It answers the request.
    Answer(BoxFuture<'static, Reply>),
    /// It took the notification in (answered `202 Accepted`).
    Accepted,
}

/// Serves some messages of streamable-HTTP sessions without rmcp.
pub trait Shortcut: Send + Sync + 'static {
    /// Whether messages of session `session_id` may be for it at all (cheap: checked
    /// before the body is read).
    fn wants(&self, session_id: &str) -> bool;

    /// Takes `message` of `session_id` (sent with the request `parts`), or leaves it to
    /// rmcp (`None`).
    fn take(&self, session_id: &str, message: ClientJsonRpcMessage, parts: &Parts)
    -> Option<Taken>;
}

/// A shortcut as the HTTP options carry it.
#[derive(Clone)]
pub struct Shortcuts(pub Arc<dyn Shortcut>);

impl fmt::Debug for Shortcuts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Shortcuts")
    }
}

/// The middleware in front of `/mcp`: hands `POST`s of known sessions to the shortcut and
/// passes everything else (and what it leaves) on.
pub async fn serve(State(shortcuts): State<Shortcuts>, request: Request, next: Next) -> Response {
    let session_id = match request.headers().get(SESSION_ID_HEADER) {
        Some(id) if request.method() == Method::POST && request.uri().path() == "/mcp" => {
            id.to_str().unwrap_or_default().to_owned()
        }
        _ => return next.run(request).await,
    };
    if !shortcuts.0.wants(&session_id) || rmcp_refuses(request.headers()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // The body limit layer in front caps what this reads.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => return unreadable_body(&e),
    };
    let taken = crate::upstream::decode::client_message(&bytes)
        .ok()
        .and_then(|message| shortcuts.0.take(&session_id, message, &parts));
    match taken {
        Some(Taken::Answer(answer)) => match answer.await {
            Reply::Message(message) => json_response(&message),
            Reply::Stream(messages) => sse_response(messages),
        },
        Some(Taken::Accepted) => StatusCode::ACCEPTED.into_response(),
        None => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    }
}

/// Whether rmcp would refuse the POST before reading it: an `MCP-Protocol-Version` it does
/// not know (400) or an `Accept` without both JSON and SSE (406). Such requests are left to
/// rmcp, so they get its answer.
fn rmcp_refuses(headers: &HeaderMap) -> bool {
    let unknown_version = headers.get(PROTOCOL_VERSION_HEADER).is_some_and(|version| {
        let known = ProtocolVersion::KNOWN_VERSIONS.iter();
        version
            .to_str()
            .map_or(true, |v| !known.clone().any(|k| k.as_str() == v))
    });
    let accepted: Vec<String> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|media| {
            media
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    let accepts = |media: &str| accepted.iter().any(|a| a == media);
    unknown_version || !accepts("application/json") || !accepts("text/event-stream")
}

/// `413` when the body was over the limit, `400` when it could not be read.
fn unreadable_body(error: &axum::Error) -> Response {
    let too_large = std::error::Error::source(error)
        .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
    if too_large {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large",
        )
            .into_response()
    } else {
        (
            StatusCode::BAD_REQUEST,
            format!("cannot read the request body: {error}"),
        )
            .into_response()
    }
}

/// A JSON-RPC answer as a `200 application/json` response, as streamable HTTP allows for a
/// request whose answer needs no stream.
fn json_response(message: &ServerJsonRpcMessage) -> Response {
    match serde_json::to_vec(message) {
        Ok(body) => (
            [(header::CONTENT_TYPE, "application/json")],
            Bytes::from(body),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the answer: {e}"),
        )
            .into_response(),
    }
}

/// Messages as a `200 text/event-stream` response, one `message` event each.
fn sse_response(messages: BoxStream<'static, ServerJsonRpcMessage>) -> Response {
    let events = messages.map(|message| {
        let data = serde_json::to_string(&message)?;
        Ok::<_, serde_json::Error>(format!("event: message\ndata: {data}\n\n"))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(events),
    )
        .into_response()
}
