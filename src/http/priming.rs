//! Priming events only for the clients that expect them. rmcp's server starts every SSE
//! stream with one (an id, a `retry` delay and empty data: SEP-1699, protocol 2025-11-25),
//! whatever protocol the client speaks; SDKs of earlier revisions take the empty data for a
//! broken message (the Python SDK 1.x logs `Error parsing SSE message` for each). For them,
//! such events are taken out of the stream; every event with a message passes untouched.

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, header},
    response::Response,
};
use futures::StreamExt;
use rmcp::{model::ProtocolVersion, transport::common::http_header::HEADER_MCP_PROTOCOL_VERSION};

/// Whether a client whose request has `headers` (and, for `initialize`, asks for
/// `requested`) speaks a revision before 2025-11-25. Without the header a client is of
/// 2025-03-26, as the specification says.
pub fn is_legacy(headers: &HeaderMap, requested: Option<&str>) -> bool {
    let version = requested.or_else(|| {
        headers
            .get(HEADER_MCP_PROTOCOL_VERSION)
            .and_then(|v| v.to_str().ok())
    });
    version.is_none_or(|v| v < ProtocolVersion::V_2025_11_25.as_str())
}

/// The protocol version an `initialize` request in `body` asks for.
pub fn requested_version(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Initialize {
        method: String,
        params: Params,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Params {
        protocol_version: String,
    }
    let request: Initialize = serde_json::from_slice(body).ok()?;
    (request.method == "initialize").then_some(request.params.protocol_version)
}

/// Whether `response` is an SSE stream.
pub fn is_event_stream(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
}

/// `response` without priming events, when it is an event stream.
pub fn without_priming(response: Response) -> Response {
    if !is_event_stream(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let events = futures::stream::unfold(
        (body.into_data_stream(), Vec::<u8>::new()),
        |(mut body, mut buffer)| async move {
            loop {
                if let Some(end) = find_event_end(&buffer) {
                    let event: Vec<u8> = buffer.drain(..end).collect();
                    if is_priming(&event) {
                        continue;
                    }
                    return Some((Ok(Bytes::from(event)), (body, buffer)));
                }
                match body.next().await {
                    Some(Ok(chunk)) => buffer.extend_from_slice(&chunk),
                    Some(Err(e)) => return Some((Err(e), (body, Vec::new()))),
                    None if buffer.is_empty() => return None,
                    None => {
                        return Some((
                            Ok(Bytes::from(std::mem::take(&mut buffer))),
                            (body, buffer),
                        ));
                    }
                }
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(events))
}

/// Where the first event of `buffer` ends (after its blank line), if it is complete.
pub(super) fn find_event_end(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|at| at + 2)
}

/// Whether `event` carries no message: only an id, a `retry` and empty data.
fn is_priming(event: &[u8]) -> bool {
    let text = String::from_utf8_lossy(event);
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let is_comment = |l: &&str| l.starts_with(':');
    !lines.is_empty()
        && !lines.iter().all(is_comment)
        && lines.iter().all(|l| {
            is_comment(l)
                || l.starts_with("id:")
                || l.starts_with("retry:")
                || l.strip_prefix("data:").is_some_and(|d| d.trim().is_empty())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn priming_events_go_and_the_rest_stays_whatever_the_chunks() {
        let stream = "data: \nid: 0\nretry: 3000\n\n: keep-alive\n\nid: 1\ndata: {\"a\":1}\n\n";
        for split in [1, 7, 13, stream.len()] {
            let chunks: Vec<Result<Bytes, std::io::Error>> = stream
                .as_bytes()
                .chunks(split)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let response = Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .unwrap();
            let body = without_priming(response).into_body();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            assert_eq!(
                bytes, ": keep-alive\n\nid: 1\ndata: {\"a\":1}\n\n",
                "chunks of {split}"
            );
        }
    }

    #[test]
    fn legacy_clients_are_those_before_2025_11_25() {
        let mut headers = HeaderMap::new();
        assert!(is_legacy(&headers, None), "no header: 2025-03-26");
        assert!(!is_legacy(&headers, Some("2025-11-25")));
        headers.insert(HEADER_MCP_PROTOCOL_VERSION, "2025-06-18".parse().unwrap());
        assert!(is_legacy(&headers, None));
        headers.insert(HEADER_MCP_PROTOCOL_VERSION, "2025-11-25".parse().unwrap());
        assert!(!is_legacy(&headers, None));
        let init = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05"}}"#;
        assert_eq!(requested_version(init).as_deref(), Some("2024-11-05"));
        assert_eq!(requested_version(br#"{"method":"ping"}"#), None);
    }
}
