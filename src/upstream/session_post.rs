//! Posting on a streamable-HTTP upstream's session past rmcp's client: a request is
//! posted on the session that rmcp's client opened, and its answer read from that POST's
//! own response, without rmcp's client service (its task and channel hops) in between.
//! Everything else on the session (the GET stream with the server's notifications, list
//! requests at mount time, reconnects) stays with rmcp.
//!
//! Parts: [`SessionCapture`] wraps the HTTP client rmcp's transport uses and notes the
//! session id and protocol headers it sends; [`HttpSessionPost`] posts with them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use futures::{
    StreamExt,
    future::{self, BoxFuture},
    stream::{self, BoxStream},
};
use http::{HeaderName, HeaderValue};
use rmcp::{
    model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage, ServerJsonRpcMessage},
    transport::streamable_http_client::{
        StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
        StreamableHttpResponseLimits,
    },
};
use sse_stream::{Error as SseError, Sse};

use super::{
    resume::{Resumption, resumable},
    stream_watch::Watch,
};
use crate::sync::lock;
use crate::upstream::decode;

/// Why posting a request on the session failed. Every variant means the connection can no longer be
/// trusted: the mount reconnects.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The POST failed (connection refused or reset, error status, session expired).
    #[error("posting to the MCP server failed: {0}")]
    Post(String),
    /// The response stream broke or ended before the answer.
    #[error("the MCP server's response stream {0}")]
    Stream(String),
}

/// The messages of one POST's response, in order.
pub type Replies = BoxStream<'static, Result<ServerJsonRpcMessage, PostError>>;

/// Posts a message on an upstream session and yields what comes back on that POST.
pub trait SessionPost: Send + Sync {
    /// Whether the session is known yet (rmcp's client has posted with it).
    fn ready(&self) -> bool;

    /// Posts `message` on the session.
    fn post(&self, message: ClientJsonRpcMessage) -> BoxFuture<'_, Result<Replies, PostError>>;
}

/// The session id and protocol headers rmcp's client sends after `initialize`.
#[derive(Clone)]
struct Session {
    id: Arc<str>,
    headers: HashMap<HeaderName, HeaderValue>,
}

/// Where [`SessionCapture`] notes the session for [`HttpSessionPost`].
type SessionSlot = Arc<Mutex<Option<Session>>>;

/// An HTTP client for rmcp's streamable-HTTP transport that passes everything to `C` and
/// notes the session id and headers of its posts, for the poster on the same session.
#[derive(Clone)]
pub struct SessionCapture<C> {
    inner: C,
    session: SessionSlot,
    /// Reports a GET stream that ended or could not be opened.
    pub watch: Watch,
}

impl<C: StreamableHttpClient> SessionCapture<C> {
    /// Wraps `inner`; returns the wrapper (for rmcp's transport) and the poster that posts
    /// to `uri` on the session the transport opens.
    pub fn new(inner: C, uri: Arc<str>) -> (Self, HttpSessionPost<C>) {
        let session = SessionSlot::default();
        let poster = HttpSessionPost {
            client: inner.clone(),
            uri,
            session: session.clone(),
        };
        let capture = Self {
            inner,
            session,
            watch: Watch::default(),
        };
        (capture, poster)
    }

    fn note(&self, session_id: Option<&Arc<str>>, headers: &HashMap<HeaderName, HeaderValue>) {
        if let Some(id) = session_id {
            let mut slot = lock(&self.session);
            if slot.as_ref().is_none_or(|s| s.id != *id) {
                *slot = Some(Session {
                    id: id.clone(),
                    headers: headers.clone(),
                });
            }
        }
    }
}

impl<C: StreamableHttpClient + Sync> StreamableHttpClient for SessionCapture<C> {
    type Error = C::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.note(session_id.as_ref(), &custom_headers);
        quiet(
            self.inner
                .post_message(uri, message, session_id, auth_header, custom_headers)
                .await,
        )
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.note(session_id.as_ref(), &custom_headers);
        quiet(
            self.inner
                .post_message_with_max_sse_event_size(
                    uri,
                    message,
                    session_id,
                    auth_header,
                    custom_headers,
                    max_sse_event_size,
                )
                .await,
        )
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.note(session_id.as_ref(), &custom_headers);
        quiet(
            self.inner
                .post_message_with_response_limits(
                    uri,
                    message,
                    session_id,
                    auth_header,
                    custom_headers,
                    limits,
                )
                .await,
        )
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        quiet(
            self.inner
                .delete_session(uri, session_id, auth_header, custom_headers)
                .await,
        )
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        let first = last_event_id.is_none();
        let opened = self
            .inner
            .get_stream(uri, session_id, last_event_id, auth_header, custom_headers)
            .await;
        quiet(self.watch.watch(opened, first))
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        let first = last_event_id.is_none();
        let opened = self
            .inner
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await;
        quiet(self.watch.watch(opened, first))
    }
}

/// `result` with no text the server chose in its error: rmcp keeps the start of an error
/// status's body, or of a success body that is not JSON-RPC, in
/// [`StreamableHttpError::UnexpectedServerResponse`], and a URL mount's caller must not read
/// what the daemon reached through it (an internal service's reply, say). The status stays.
fn quiet<T, E>(result: Result<T, StreamableHttpError<E>>) -> Result<T, StreamableHttpError<E>>
where
    E: std::error::Error + Send + Sync + 'static,
{
    result.map_err(|error| match error {
        StreamableHttpError::UnexpectedServerResponse(text) => {
            let status = text
                .strip_prefix("HTTP ")
                .and_then(|rest| rest.split_once(':'))
                .map(|(status, _)| format!("HTTP {status} (its body is not shown)"));
            let said = status.unwrap_or_else(|| {
                let known = ["empty sse stream", "expect initialized, accepted"];
                // The daemon's own words (the Kubernetes proxy client's), not the server's.
                let ours = text.starts_with("forbidden: the daemon may not ");
                match known.iter().find(|k| text == **k) {
                    Some(known) => (*known).to_owned(),
                    None if ours => text.into_owned(),
                    None => "an answer that is not JSON-RPC (not shown)".to_owned(),
                }
            });
            StreamableHttpError::UnexpectedServerResponse(said.into())
        }
        other => other,
    })
}

/// Posts to a streamable-HTTP upstream on the session [`SessionCapture`] saw.
pub struct HttpSessionPost<C> {
    client: C,
    uri: Arc<str>,
    session: SessionSlot,
}

impl<C: StreamableHttpClient + Sync + 'static> SessionPost for HttpSessionPost<C> {
    fn ready(&self) -> bool {
        lock(&self.session).is_some()
    }

    fn post(&self, message: ClientJsonRpcMessage) -> BoxFuture<'_, Result<Replies, PostError>> {
        let answers_tool_call = matches!(
            &message,
            JsonRpcMessage::Request(r) if matches!(r.request, ClientRequest::CallToolRequest(_))
        );
        let request_id = match &message {
            JsonRpcMessage::Request(r) => Some(r.id.clone()),
            _ => None,
        };
        Box::pin(async move {
            let session = lock(&self.session)
                .clone()
                .ok_or_else(|| PostError::Post("no session yet".into()))?;
            let response = quiet(
                self.client
                    .post_message_with_response_limits(
                        self.uri.clone(),
                        message,
                        Some(session.id.clone()),
                        None,
                        session.headers.clone(),
                        StreamableHttpResponseLimits::default(),
                    )
                    .await,
            )
            .map_err(|e| PostError::Post(e.to_string()))?;
            Ok(match response {
                StreamableHttpPostResponse::Accepted => stream::empty().boxed(),
                StreamableHttpPostResponse::Json(message, _) => {
                    stream::once(future::ready(Ok(message))).boxed()
                }
                StreamableHttpPostResponse::Sse(events, _) => match request_id {
                    // A request's stream is resumed if the server closes it early.
                    Some(id) => {
                        let resumption = Resumption {
                            client: self.client.clone(),
                            uri: self.uri.clone(),
                            session: session.id,
                            headers: session.headers,
                        };
                        resumable(resumption, events, id, answers_tool_call)
                    }
                    None => events
                        .filter_map(move |event| {
                            future::ready(message_of(event, answers_tool_call))
                        })
                        .boxed(),
                },
                other => {
                    return Err(PostError::Post(format!("unexpected response {other:?}")));
                }
            })
        })
    }
}

/// The JSON-RPC message an SSE event carries (decoded as an answer to a `tools/call` first
/// when it may be one); `None` for priming events, keep-alives and unparsable data
/// (skipped, as rmcp's client does).
pub(super) fn message_of(
    event: Result<Sse, SseError>,
    answers_tool_call: bool,
) -> Option<Result<ServerJsonRpcMessage, PostError>> {
    let sse = match event {
        Ok(sse) => sse,
        Err(e) => return Some(Err(PostError::Stream(format!("broke: {e}")))),
    };
    if !matches!(sse.event.as_deref(), None | Some("message")) {
        return None;
    }
    let data = sse.data.filter(|d| !d.trim().is_empty())?;
    match decode::server_message(&data, answers_tool_call) {
        Ok(message) => Some(Ok(message)),
        Err(e) => {
            tracing::warn!(cause = %e, "ignoring an unparsable message on a response stream");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sse(event: Option<&str>, data: Option<&str>) -> Result<Sse, SseError> {
        Ok(Sse {
            event: event.map(Into::into),
            data: data.map(Into::into),
            id: None,
            retry: None,
        })
    }

    #[test]
    fn response_events_become_messages_and_the_rest_is_skipped() {
        let response = r#"{"jsonrpc":"2.0","id":"ek-1","result":{"content":[]}}"#;
        assert!(matches!(
            message_of(sse(None, Some(response)), true),
            Some(Ok(ServerJsonRpcMessage::Response(_)))
        ));
        assert!(matches!(
            message_of(sse(Some("message"), Some(response)), true),
            Some(Ok(_))
        ));
        // rmcp's priming event (empty data), keep-alives and other event types.
        assert!(message_of(sse(None, Some("")), true).is_none());
        assert!(message_of(sse(None, None), true).is_none());
        assert!(message_of(sse(Some("ping"), Some(response)), true).is_none());
        assert!(message_of(sse(None, Some("not json")), true).is_none());
    }
}
