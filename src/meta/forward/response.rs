//! The HTTP side of [`super::MountedCalls`]: which `POST`s rmcp would refuse unread (left
//! to it), and the responses a call served past rmcp gets (JSON, or SSE once progress came).

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::{StreamExt, stream::BoxStream};
use rmcp::{
    model::{ProtocolVersion, ServerJsonRpcMessage},
    transport::common::http_header::HEADER_MCP_PROTOCOL_VERSION,
};

/// Whether rmcp would refuse the POST before reading it: an `MCP-Protocol-Version` it does
/// not know (400) or an `Accept` without both JSON and SSE (406). Such requests are left to
/// rmcp, so they get its answer.
pub(super) fn rmcp_refuses(headers: &HeaderMap) -> bool {
    let unknown_version = headers
        .get(HEADER_MCP_PROTOCOL_VERSION)
        .is_some_and(|version| {
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

/// A JSON-RPC answer as a `200 application/json` response, as streamable HTTP allows for a
/// request whose answer needs no stream.
pub(super) fn json_response(message: &ServerJsonRpcMessage) -> Response {
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
pub(super) fn sse_response(messages: BoxStream<'static, ServerJsonRpcMessage>) -> Response {
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
