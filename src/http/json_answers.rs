//! Plain JSON for answers that need no stream (a bridge's answers). rmcp's server answers
//! every request on a session with an SSE stream, even one that carries a single message;
//! through a proxy that copies streamed bodies (the Kubernetes API server's service proxy)
//! each stream is one more chance to be cut. Here the stream's first message is awaited (up
//! to [`FIRST_MESSAGE_WAIT`]): when it is the request's answer, the client gets it as one
//! `application/json` body, as streamable HTTP allows; when the server sends something else
//! first (progress, a request of its own), or takes longer, the stream goes on as it was.

use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, header},
    response::Response,
};
use futures::{StreamExt, stream::BoxStream};

/// How long an answer may take to be sent as JSON; a slower one is streamed (so a proxy in
/// between sees bytes).
pub const FIRST_MESSAGE_WAIT: Duration = Duration::from_secs(5);

type Chunks = BoxStream<'static, Result<Bytes, axum::Error>>;

/// `response` as JSON when its event stream's first message is the answer.
pub async fn answer_as_json(response: Response) -> Response {
    if !super::priming::is_event_stream(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let mut chunks: Chunks = body.into_data_stream().boxed();
    let mut seen = Vec::<u8>::new();
    let mut scanned = 0;
    let first = tokio::time::timeout(FIRST_MESSAGE_WAIT, async {
        loop {
            while let Some(end) = super::priming::find_event_end(&seen[scanned..]) {
                let event = &seen[scanned..scanned + end];
                scanned += end;
                if let Some(data) = data_of(event) {
                    return Some(data);
                }
            }
            match chunks.next().await {
                Some(Ok(chunk)) => seen.extend_from_slice(&chunk),
                _ => return None,
            }
        }
    })
    .await;
    if let Ok(Some(data)) = first
        && is_answer(&data)
    {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        parts.headers.remove(header::CACHE_CONTROL);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(data));
    }
    let replayed = futures::stream::once(async move { Ok(Bytes::from(seen)) });
    Response::from_parts(parts, Body::from_stream(replayed.chain(chunks)))
}

/// An event's data (its `data:` lines joined), unless it has none or only empty data.
fn data_of(event: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(event).ok()?;
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    let data = data.join("\n");
    (!data.trim().is_empty()).then_some(data)
}

/// Whether `data` is a JSON-RPC answer (a result or an error), not a request or notification.
fn is_answer(data: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Message {
        method: Option<serde::de::IgnoredAny>,
        result: Option<serde::de::IgnoredAny>,
        error: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<Message>(data)
        .is_ok_and(|m| m.method.is_none() && (m.result.is_some() || m.error.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(events: &'static str) -> Response {
        Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .header("mcp-session-id", "s")
            .body(Body::from(events))
            .unwrap()
    }

    async fn body(response: Response) -> (String, String) {
        let kind = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (kind, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_lone_answer_becomes_json_and_anything_else_stays_a_stream() {
        let answer = "data: \nid: 0\nretry: 3000\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\nid: 1\n\n";
        let response = answer_as_json(streamed(answer)).await;
        assert_eq!(response.headers()["mcp-session-id"], "s");
        assert_eq!(
            body(response).await,
            (
                "application/json".into(),
                r#"{"jsonrpc":"2.0","id":1,"result":{}}"#.into()
            )
        );
        let progress_first = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
        let response = answer_as_json(streamed(progress_first)).await;
        assert_eq!(
            body(response).await,
            ("text/event-stream".into(), progress_first.into())
        );
    }
}
