//! Legacy SSE client: opens `GET <url>`, waits for the `endpoint` event, then posts JSON-RPC
//! messages to that endpoint and reads replies from the `message` events.
//!
//! It never reconnects: on this transport a new stream is a new session, so a silent
//! reconnect would lose the session's state. When the stream ends, [`receive`] yields
//! `None` and the rmcp service stops.
//!
//! [`receive`]: rmcp::transport::Transport::receive

use std::time::Duration;

use futures::{StreamExt, stream::BoxStream};
use reqwest::header::{ACCEPT, HeaderMap};
use rmcp::{
    RoleClient,
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    transport::Transport,
};
use sse_stream::{Sse, SseStream};

/// How long to wait for the server's `endpoint` event after the stream opens.
const ENDPOINT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a legacy SSE connection failed.
#[derive(Debug, thiserror::Error)]
pub enum SseClientError {
    /// The HTTP request failed (connection refused, reset, …).
    #[error("{url}: {source}")]
    Http {
        /// The URL that was requested.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status (its body is never read).
    #[error("{url}: HTTP {status}")]
    Status {
        /// The URL that was requested, without credentials or query.
        url: String,
        /// The status code.
        status: reqwest::StatusCode,
    },
    /// The stream did not start with a usable `endpoint` event.
    #[error("{url}: {reason}; is this a legacy SSE endpoint (usually ending in /sse)?")]
    NoEndpoint {
        /// The SSE URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// A connected legacy SSE session, usable as an rmcp client transport.
pub struct SseClientTransport {
    http: reqwest::Client,
    headers: HeaderMap,
    endpoint: String,
    events: BoxStream<'static, Result<Sse, sse_stream::Error>>,
}

impl SseClientTransport {
    /// Opens `url` (e.g. `http://127.0.0.1:8000/sse`) with a fresh HTTP client.
    ///
    /// # Errors
    /// [`SseClientError`] when the stream cannot be opened or names no endpoint.
    pub async fn connect(url: &str) -> Result<Self, SseClientError> {
        crate::tls::install_crypto_provider();
        Self::connect_with(reqwest::Client::new(), url, HeaderMap::new()).await
    }

    /// Opens `url` with `http`, sending `headers` (e.g. `Authorization`) on every request.
    ///
    /// # Errors
    /// [`SseClientError`] when the stream cannot be opened or names no endpoint.
    pub async fn connect_with(
        http: reqwest::Client,
        url: &str,
        headers: HeaderMap,
    ) -> Result<Self, SseClientError> {
        let http_err = |source: reqwest::Error| SseClientError::Http {
            url: crate::model::redact_url(url),
            source: source.without_url(),
        };
        let response = http
            .get(url)
            .headers(headers.clone())
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(http_err)?;
        let status = response.status();
        if !status.is_success() {
            // The body is not read: it could be anything the server (or whatever a URL
            // points at) holds, and the error goes back to the caller.
            return Err(SseClientError::Status {
                url: crate::model::redact_url(url),
                status,
            });
        }
        let is_stream = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        if !is_stream {
            // Not read either: whatever it is, it is not the stream asked for.
            return Err(SseClientError::NoEndpoint {
                url: crate::model::redact_url(url),
                reason: "the answer is not an event stream (content type text/event-stream)".into(),
            });
        }
        let base = response.url().clone();
        let bytes = bounded_events(response.bytes_stream(), MAX_EVENT_BYTES);
        let mut events = SseStream::from_bytes_stream(bytes).boxed();
        let no_endpoint = |reason: String| SseClientError::NoEndpoint {
            url: crate::model::redact_url(url),
            reason,
        };
        let first = tokio::time::timeout(ENDPOINT_TIMEOUT, events.next())
            .await
            .map_err(|_| no_endpoint(format!("no endpoint event within {ENDPOINT_TIMEOUT:?}")))?;
        let endpoint = match first {
            Some(Ok(sse)) if sse.event.as_deref() == Some("endpoint") => {
                sse.data.unwrap_or_default()
            }
            Some(Ok(sse)) => {
                return Err(no_endpoint(format!(
                    "first event was {:?}, not endpoint",
                    sse.event
                )));
            }
            Some(Err(e)) => return Err(no_endpoint(format!("unreadable event stream: {e}"))),
            None => {
                return Err(no_endpoint(
                    "the stream ended before the endpoint event".into(),
                ));
            }
        };
        let endpoint = base
            .join(endpoint.trim())
            .map_err(|e| no_endpoint(format!("bad endpoint {endpoint:?}: {e}")))?;
        // Messages go where the stream came from, never to a host the server names.
        if endpoint.origin() != base.origin() {
            return Err(no_endpoint(format!(
                "the endpoint event names another origin ({}); messages go only to the \
                 stream's own",
                crate::model::redact_url(endpoint.as_str())
            )));
        }
        Ok(Self {
            http,
            headers,
            endpoint: endpoint.to_string(),
            events,
        })
    }

    /// The URL messages are posted to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// The largest event a server may send on the stream (as rmcp allows on streamable HTTP).
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// `bytes` that end with an error once more than `max` bytes arrive without the blank line
/// that ends an SSE event: the parser would otherwise hold an endless event in memory.
fn bounded_events(
    bytes: impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send + 'static,
    max: usize,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    // Bytes of the event so far, and of its current line (without `\r`).
    let (mut event, mut line) = (0usize, 0usize);
    bytes
        .map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            for &byte in &chunk {
                event += 1;
                match byte {
                    b'\n' if line == 0 => event = 0,
                    b'\n' => line = 0,
                    b'\r' => {}
                    _ => line += 1,
                }
            }
            if event > max {
                return Err(std::io::Error::other(format!(
                    "an event of more than {max} bytes; the stream is dropped"
                )));
            }
            Ok(chunk)
        })
        .scan(false, |failed, item| {
            let next = (!*failed).then_some(item);
            *failed |= next.as_ref().is_some_and(Result::is_err);
            futures::future::ready(next)
        })
}

impl Transport<RoleClient> for SseClientTransport {
    type Error = SseClientError;

    fn send(
        &mut self,
        item: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let request = self
            .http
            .post(&self.endpoint)
            .headers(self.headers.clone())
            .json(&item);
        let url = self.endpoint.clone();
        async move {
            let response = request
                .send()
                .await
                .map_err(|source| SseClientError::Http {
                    url: crate::model::redact_url(&url),
                    source: source.without_url(),
                })?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            Err(SseClientError::Status {
                url: crate::model::redact_url(&url),
                status,
            })
        }
    }

    async fn receive(&mut self) -> Option<ServerJsonRpcMessage> {
        {
            loop {
                let sse = match self.events.next().await? {
                    Ok(sse) => sse,
                    Err(e) => {
                        tracing::debug!(cause = %e, "sse stream broke");
                        return None;
                    }
                };
                if !matches!(sse.event.as_deref(), None | Some("message")) {
                    continue;
                }
                let Some(data) = sse.data else { continue };
                match serde_json::from_str(&data) {
                    Ok(message) => return Some(message),
                    Err(e) => tracing::warn!(cause = %e, "ignoring an unparsable sse message"),
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.events = futures::stream::empty().boxed();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::bounded_events;

    fn chunks(parts: &[&str]) -> Vec<reqwest::Result<bytes::Bytes>> {
        parts
            .iter()
            .map(|p| Ok(bytes::Bytes::from(p.to_string())))
            .collect()
    }

    #[tokio::test]
    async fn events_are_bounded_each_and_an_endless_one_ends_the_stream() {
        // Many small events pass, however long the stream.
        let small: Vec<&str> = std::iter::repeat_n("data: 12345\r\n\r\n", 100).collect();
        let passed: Vec<_> = bounded_events(futures::stream::iter(chunks(&small)), 32)
            .collect()
            .await;
        assert!(passed.iter().all(Result::is_ok));
        // One event longer than the bound, split over chunks, fails once and ends it.
        let endless = [
            "data: 0123456789",
            "0123456789",
            "0123456789",
            "more",
            "\n\n",
        ];
        let items: Vec<_> = bounded_events(futures::stream::iter(chunks(&endless)), 32)
            .collect()
            .await;
        assert_eq!(items.len(), 3, "{items:?}");
        assert!(
            items[2]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("more than 32 bytes")
        );
    }
}
