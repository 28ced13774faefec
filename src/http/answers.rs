//! HTTP answers a client can act on, where rmcp's would leave it guessing: a `POST /mcp`
//! body that is not JSON gets `400` with a JSON-RPC parse error, a `DELETE /mcp` that ended
//! its session `200`, a body over the limit a `413` the client can read while it is still
//! sending (the rest of the body is read and dropped, within bounds, instead of the
//! connection being reset under it), and a client of a revision before 2025-11-25 no
//! priming events ([`super::priming`]).

use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::StreamExt;

use super::priming;

/// Most bytes of an oversized body read (and dropped) so that the client sees the `413`.
const MAX_DRAINED: u64 = 64 * 1024 * 1024;

/// How long reading an oversized body's rest may take.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// `POST /mcp` and `DELETE /mcp` answers (see the module doc), and answers that need no
/// stream as JSON when `json_answers` ([`super::json_answers`]). Runs inside the body
/// limit, so what it reads is bounded.
pub async fn streamable(
    State(json_answers): State<bool>,
    request: Request,
    next: Next,
) -> Response {
    match *request.method() {
        Method::POST => {
            let (parts, body) = request.into_parts();
            let bytes = match axum::body::to_bytes(body, usize::MAX).await {
                Ok(bytes) => bytes,
                Err(e) => return unreadable(&e),
            };
            if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
                return parse_error();
            }
            let requested = priming::requested_version(&bytes);
            let legacy = priming::is_legacy(&parts.headers, requested.as_deref());
            let mut response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            if json_answers {
                response = super::json_answers::answer_as_json(response).await;
            }
            if legacy {
                priming::without_priming(response)
            } else {
                response
            }
        }
        Method::GET if priming::is_legacy(request.headers(), None) => {
            priming::without_priming(next.run(request).await)
        }
        Method::DELETE => {
            let mut response = next.run(request).await;
            // rmcp says 202, which clients (the Python SDK) take for a failure to end it.
            if response.status() == StatusCode::ACCEPTED {
                *response.status_mut() = StatusCode::OK;
            }
            response
        }
        _ => next.run(request).await,
    }
}

/// Answers a request whose declared body is over `max_body_bytes` with `413`, after
/// reading the rest of what the client sends (up to `MAX_DRAINED` bytes within
/// `DRAIN_TIME`), so that the client reads the answer instead of a reset connection.
pub async fn too_large(
    State(max_body_bytes): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(declared) = declared.filter(|n| *n > max_body_bytes as u64) else {
        return next.run(request).await;
    };
    if declared <= MAX_DRAINED {
        let mut frames = request.into_body().into_data_stream();
        let drain = async { while let Some(Ok(_)) = frames.next().await {} };
        let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
    }
    let text = format!(
        "the request body ({declared} bytes) is larger than the {max_body_bytes} bytes allowed \
         (--max-body-bytes)"
    );
    let mut response = (StatusCode::PAYLOAD_TOO_LARGE, text).into_response();
    // The client may still be sending: it should not reuse this connection.
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

/// `400` with the JSON-RPC parse error (`-32700`), whose id is null: nothing could be read.
fn parse_error() -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": -32700, "message": "Parse error: the body is not JSON"},
    });
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        Bytes::from(body.to_string()),
    )
        .into_response()
}

/// `413` when the body was over the limit, `400` when it could not be read.
pub fn unreadable(error: &axum::Error) -> Response {
    let too_large = std::error::Error::source(error)
        .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
    if too_large {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large (--max-body-bytes)",
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
