//! A call's SSE response that survives the server closing it (SEP-1699, 2025-11-25): the
//! server may end the stream on purpose before the answer, having sent an event id (its
//! priming event) and a `retry` delay, and expects the client to resume with `GET` and
//! `Last-Event-ID`. [`resumable`] keeps the last id and delay of the stream and resumes it
//! as often as the server asks, until the answer has come; only a stream that ends with no
//! event id to resume from, or a resume that fails, fails the call.

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::{StreamExt, stream::BoxStream};
use http::{HeaderName, HeaderValue};
use rmcp::{
    model::{JsonRpcMessage, RequestId, ServerJsonRpcMessage},
    transport::streamable_http_client::StreamableHttpClient,
};
use sse_stream::{Error as SseError, Sse};

use super::session_post::{PostError, Replies, message_of};

/// How long to wait before resuming when the server named no delay.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);

/// Bounds on the delay a server may ask for: not a busy loop, not a call parked for long.
const MIN_RETRY: Duration = Duration::from_millis(10);
const MAX_RETRY: Duration = Duration::from_secs(5);

/// What a resume needs: where, on which session, with which headers.
#[derive(Clone)]
pub struct Resumption<C> {
    /// The HTTP client of the session.
    pub client: C,
    /// The endpoint.
    pub uri: Arc<str>,
    /// The session id.
    pub session: Arc<str>,
    /// The headers the session's requests carry (protocol version).
    pub headers: HashMap<HeaderName, HeaderValue>,
}

struct State<C> {
    resumption: Resumption<C>,
    events: BoxStream<'static, Result<Sse, SseError>>,
    /// The request whose answer ends the need to resume.
    id: RequestId,
    answers_tool_call: bool,
    last_id: Option<String>,
    retry: Option<Duration>,
    answered: bool,
    failed: bool,
}

/// The messages of `events`, the SSE response to request `id`, resumed through
/// `resumption` whenever the stream ends (or breaks) before the answer.
pub fn resumable<C>(
    resumption: Resumption<C>,
    events: BoxStream<'static, Result<Sse, SseError>>,
    id: RequestId,
    answers_tool_call: bool,
) -> Replies
where
    C: StreamableHttpClient + Sync + 'static,
{
    let state = State {
        resumption,
        events,
        id,
        answers_tool_call,
        last_id: None,
        retry: None,
        answered: false,
        failed: false,
    };
    futures::stream::unfold(state, next).boxed()
}

async fn next<C>(mut state: State<C>) -> Option<(Result<ServerJsonRpcMessage, PostError>, State<C>)>
where
    C: StreamableHttpClient + Sync + 'static,
{
    if state.failed {
        return None;
    }
    loop {
        let why = match state.events.next().await {
            Some(Ok(sse)) => {
                if let Some(id) = sse.id.as_ref().filter(|id| !id.is_empty()) {
                    state.last_id = Some(id.clone());
                }
                if let Some(millis) = sse.retry {
                    state.retry = Some(Duration::from_millis(millis));
                }
                let Some(message) = message_of(Ok(sse), state.answers_tool_call) else {
                    continue;
                };
                if let Ok(message) = &message
                    && answers(message, &state.id)
                {
                    state.answered = true;
                }
                return Some((message, state));
            }
            _ if state.answered => return None,
            Some(Err(e)) => format!("broke ({e})"),
            None => "ended".to_owned(),
        };
        let Some(last_id) = state.last_id.clone() else {
            state.failed = true;
            let error = PostError::Stream(format!(
                "{why} before the answer, with no event id to resume from"
            ));
            return Some((Err(error), state));
        };
        if why == "ended" {
            // Closed on purpose: the server said how long to wait. A broken stream is
            // resumed at once, so a server that died fails the call without delay.
            let delay = state
                .retry
                .unwrap_or(DEFAULT_RETRY)
                .clamp(MIN_RETRY, MAX_RETRY);
            tokio::time::sleep(delay).await;
        }
        let Resumption {
            client,
            uri,
            session,
            headers,
        } = &state.resumption;
        tracing::debug!(%last_id, "resuming a call's response stream");
        let resumed = client
            .get_stream(
                uri.clone(),
                Some(session.clone()),
                Some(last_id),
                None,
                headers.clone(),
            )
            .await;
        match resumed {
            Ok(events) => state.events = events,
            Err(e) => {
                state.failed = true;
                let error = PostError::Stream(format!(
                    "{why} before the answer and could not be resumed: {e}"
                ));
                return Some((Err(error), state));
            }
        }
    }
}

/// Whether `message` is the answer (result or error) to `id`.
fn answers(message: &ServerJsonRpcMessage, id: &RequestId) -> bool {
    match message {
        JsonRpcMessage::Response(r) => &r.id == id,
        JsonRpcMessage::Error(e) => e.id.as_ref() == Some(id),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use rmcp::{
        model::ClientJsonRpcMessage,
        transport::streamable_http_client::{StreamableHttpError, StreamableHttpPostResponse},
    };

    use super::*;

    /// A server's resumed streams, in order, and the `Last-Event-ID`s asked for.
    #[derive(Clone, Default)]
    struct Resumes {
        streams: Arc<Mutex<Vec<Vec<Sse>>>>,
        asked: Arc<Mutex<Vec<String>>>,
    }

    impl StreamableHttpClient for Resumes {
        type Error = std::io::Error;

        async fn post_message(
            &self,
            _: Arc<str>,
            _: ClientJsonRpcMessage,
            _: Option<Arc<str>>,
            _: Option<String>,
            _: HashMap<HeaderName, HeaderValue>,
        ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
            unreachable!("resuming only GETs")
        }

        async fn delete_session(
            &self,
            _: Arc<str>,
            _: Arc<str>,
            _: Option<String>,
            _: HashMap<HeaderName, HeaderValue>,
        ) -> Result<(), StreamableHttpError<Self::Error>> {
            unreachable!("resuming only GETs")
        }

        async fn get_stream(
            &self,
            _: Arc<str>,
            _: Option<Arc<str>>,
            last_event_id: Option<String>,
            _: Option<String>,
            _: HashMap<HeaderName, HeaderValue>,
        ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>>
        {
            self.asked
                .lock()
                .unwrap()
                .push(last_event_id.unwrap_or_default());
            let mut streams = self.streams.lock().unwrap();
            if streams.is_empty() {
                return Err(StreamableHttpError::Client(std::io::Error::other("gone")));
            }
            Ok(futures::stream::iter(streams.remove(0).into_iter().map(Ok)).boxed())
        }
    }

    fn event(id: Option<&str>, data: &str) -> Sse {
        Sse {
            event: None,
            data: Some(data.to_owned()),
            id: id.map(str::to_owned),
            retry: Some(10),
        }
    }

    const ANSWER: &str = r#"{"jsonrpc":"2.0","id":"ek-1","result":{"content":[]}}"#;
    const LOG: &str = r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}"#;

    async fn run(
        first: Vec<Sse>,
        resumes: &Resumes,
    ) -> Vec<Result<ServerJsonRpcMessage, PostError>> {
        let resumption = Resumption {
            client: resumes.clone(),
            uri: "http://server/mcp".into(),
            session: "s".into(),
            headers: HashMap::new(),
        };
        let id = RequestId::String("ek-1".into());
        let first = futures::stream::iter(first.into_iter().map(Ok)).boxed();
        resumable(resumption, first, id, true).collect().await
    }

    #[tokio::test]
    async fn a_stream_closed_after_an_event_id_is_resumed_until_the_answer() {
        let resumes = Resumes::default();
        *resumes.streams.lock().unwrap() =
            vec![vec![event(Some("2"), LOG)], vec![event(Some("3"), ANSWER)]];
        let primed = vec![event(Some("1"), "")];
        let messages = run(primed, &resumes).await;
        assert_eq!(messages.len(), 2, "the log, then the answer");
        assert!(
            matches!(&messages[1], Ok(JsonRpcMessage::Response(r)) if r.id == RequestId::String("ek-1".into()))
        );
        assert_eq!(*resumes.asked.lock().unwrap(), ["1", "2"]);
    }

    #[tokio::test]
    async fn a_stream_without_an_event_id_or_a_failed_resume_fails_the_call() {
        let resumes = Resumes::default();
        let messages = run(vec![event(None, LOG)], &resumes).await;
        assert!(
            matches!(&messages[..], [Ok(_), Err(PostError::Stream(e))] if e.contains("no event id"))
        );
        assert!(resumes.asked.lock().unwrap().is_empty());

        let messages = run(vec![event(Some("1"), "")], &resumes).await;
        assert!(
            matches!(&messages[..], [Err(PostError::Stream(e))] if e.contains("could not be resumed"))
        );
    }

    #[tokio::test]
    async fn nothing_is_resumed_after_the_answer() {
        let resumes = Resumes::default();
        let messages = run(vec![event(Some("1"), ANSWER)], &resumes).await;
        assert_eq!(messages.len(), 1);
        assert!(resumes.asked.lock().unwrap().is_empty());
    }
}
