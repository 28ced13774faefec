//! The HTTP side of [`super::MountedCalls`]: which `POST`s rmcp would refuse unread (left
//! to it), and the responses a call served past rmcp gets (JSON, or SSE once progress came),
//! its answer in the shape of the client's protocol revision.

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::{StreamExt, stream::BoxStream};
use rmcp::{
    ErrorData as McpError,
    model::{
        CallToolResponse, ProgressNotification, ProgressNotificationParam, ProtocolVersion,
        RequestId, RequestMetaObject, ServerJsonRpcMessage, ServerNotification, ServerResult,
    },
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

/// SSE events (already encoded) as a `200 text/event-stream` response.
pub(super) fn event_stream(events: BoxStream<'static, Bytes>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(events.map(Ok::<_, std::convert::Infallible>)),
    )
        .into_response()
}

/// A progress notification for the client.
pub(super) fn progress_message(params: ProgressNotificationParam) -> ServerJsonRpcMessage {
    ServerJsonRpcMessage::notification(ServerNotification::ProgressNotification(
        ProgressNotification::new(params),
    ))
}

/// The shape of results the client's protocol revision defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::meta) enum Shape {
    /// Before 2026-07-28: no `resultType`, object-only structured content.
    Legacy,
    /// 2026-07-28 and later.
    Modern,
}

impl Shape {
    /// The shape for a request with `meta` on the session of `peer`: the request's own
    /// protocol version, else the session's (as rmcp decides on its own path).
    pub(in crate::meta) fn of(
        meta: Option<&RequestMetaObject>,
        peer: &rmcp::Peer<rmcp::RoleServer>,
    ) -> Self {
        if crate::upstream::is_modern(meta, peer) {
            Self::Modern
        } else {
            Self::Legacy
        }
    }

    /// `result` in this shape, as rmcp's handler leaves results on its own path.
    fn apply(self, mut result: ServerResult) -> ServerResult {
        match self {
            Self::Legacy => {
                result.strip_result_type_for_legacy_peer();
                result.strip_non_object_output_for_legacy_peer();
            }
            Self::Modern => result.fill_missing_cache_hints(),
        }
        result
    }
}

/// The answer to request `id` from how its call ended, in the client's `shape`.
pub(super) fn answer_message(
    joined: Result<Result<CallToolResponse, McpError>, tokio::task::JoinError>,
    id: RequestId,
    shape: Shape,
) -> ServerJsonRpcMessage {
    match joined {
        Ok(Ok(response)) => {
            ServerJsonRpcMessage::response(shape.apply(ServerResult::from(response)), id)
        }
        Ok(Err(error)) => ServerJsonRpcMessage::error(error, Some(id)),
        Err(e) => ServerJsonRpcMessage::error(
            McpError::internal_error(format!("the call failed: {e}"), None),
            Some(id),
        ),
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::{CallToolResult, ContentBlock, ResultType};

    use super::*;

    fn answer(shape: Shape, structured: serde_json::Value) -> serde_json::Value {
        let mut result = CallToolResult::success(vec![ContentBlock::text("x")]);
        result.result_type = Some(ResultType::COMPLETE);
        result.structured_content = Some(structured);
        let id = RequestId::Number(1);
        let message = answer_message(Ok(Ok(CallToolResponse::from(result))), id, shape);
        serde_json::to_value(message).unwrap()["result"].clone()
    }

    #[test]
    fn answers_have_the_shape_of_the_clients_revision() {
        let legacy = answer(Shape::Legacy, serde_json::json!(["a"]));
        assert!(legacy.get("resultType").is_none(), "{legacy}");
        assert!(legacy.get("structuredContent").is_none(), "{legacy}");
        let legacy = answer(Shape::Legacy, serde_json::json!({"a": 1}));
        assert_eq!(legacy["structuredContent"], serde_json::json!({"a": 1}));
        let modern = answer(Shape::Modern, serde_json::json!(["a"]));
        assert_eq!(modern["resultType"], "complete", "{modern}");
        assert_eq!(modern["structuredContent"], serde_json::json!(["a"]));
    }
}
