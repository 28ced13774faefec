//! Forwarding a request on an upstream's streamable-HTTP session directly, past rmcp's
//! client: the answer, and what the server sends about the call before it, come back on
//! the POST's response; the server's requests about the call are answered by posting.

use std::{
    any::TypeId,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use futures::{FutureExt, StreamExt};
use rmcp::{
    model::{
        ClientJsonRpcMessage, ClientRequest, ClientResult, GetMeta, JsonRpcMessage, JsonRpcRequest,
        NumberOrString, ProgressToken, RequestId, ServerRequest, ServerResult,
    },
    service::ServiceError,
    transport::DynamicTransportError,
};
use tokio_util::sync::CancellationToken;

use super::{
    Caller, Relay, Upstream,
    session_post::{PostError, Replies, SessionPost},
};

/// Prefix of the ids of requests posted on the session directly (rmcp's client numbers its own).
const POSTED_ID_PREFIX: &str = "ek-posted-";

impl Upstream {
    /// [`Self::forward`] posted on the session directly: the answer, and what the server sends about
    /// the call before it, come back on the POST's response.
    pub(super) async fn forward_posted(
        &self,
        poster: &Arc<dyn SessionPost>,
        mut request: ClientRequest,
        caller: Caller,
        ct: &CancellationToken,
        timeout: Option<Duration>,
    ) -> Result<ServerResult, ServiceError> {
        let n = self.next_posted.fetch_add(1, Ordering::Relaxed);
        let name: Arc<str> = format!("{POSTED_ID_PREFIX}{n}").into();
        let id = RequestId::String(name.clone());
        let token = ProgressToken(NumberOrString::String(name));
        request.get_meta_mut().set_progress_token(token.clone());
        let _routes = self.calls.begin(id.clone(), token, caller.clone());
        // Ends the client requests this call's server made, if it ends first.
        let asks = CancellationToken::new();
        let _asks = asks.clone().drop_guard();
        let exchange = self.exchange(poster, request, id.clone(), &caller, &asks);
        self.finish(exchange, id, ct, timeout).await
    }

    /// Posts `request` as `id` on the session and reads its response until the answer,
    /// relaying what the server sends about the call meanwhile.
    async fn exchange(
        &self,
        poster: &Arc<dyn SessionPost>,
        request: ClientRequest,
        id: RequestId,
        caller: &Caller,
        asks: &CancellationToken,
    ) -> Result<ServerResult, ServiceError> {
        let message = ClientJsonRpcMessage::request(request, id.clone());
        let mut replies = poster.post(message).await.map_err(post_error)?;
        while let Some(reply) = replies.next().await {
            match reply.map_err(post_error)? {
                JsonRpcMessage::Response(r) if r.id == id => {
                    read_to_end(replies);
                    return Ok(r.result);
                }
                JsonRpcMessage::Error(e) if e.id.as_ref() == Some(&id) => {
                    read_to_end(replies);
                    return Err(ServiceError::McpError(e.error));
                }
                JsonRpcMessage::Request(r) => {
                    let (poster, caller, asks) = (poster.clone(), caller.clone(), asks.clone());
                    tokio::spawn(answer(poster, r, caller, asks));
                }
                JsonRpcMessage::Notification(n) => {
                    self.relay.notify(n.notification, caller).await;
                }
                other => tracing::debug!(?other, "ignoring a stray message on a call's stream"),
            }
        }
        Err(post_error(PostError::Stream(
            "ended before the answer".into(),
        )))
    }
}

/// Answers a request the server made on a call's response stream (sampling, elicitation,
/// roots, ping) by asking the caller's client, and posts the answer back.
async fn answer(
    poster: Arc<dyn SessionPost>,
    request: JsonRpcRequest<ServerRequest>,
    caller: Caller,
    asks: CancellationToken,
) {
    let result = match request.request {
        ServerRequest::PingRequest(_) => Ok(ClientResult::empty(())),
        other => Relay::ask_caller(&caller, other, &asks).await,
    };
    let message = match result {
        Ok(result) => ClientJsonRpcMessage::response(result, request.id),
        Err(error) => ClientJsonRpcMessage::error(error, Some(request.id)),
    };
    match poster.post(message).await {
        Ok(mut replies) => while replies.next().await.is_some() {},
        Err(e) => tracing::debug!(cause = %e, "could not answer the server's request"),
    }
}

/// Reads the rest of a response after its answer (the server ends it right after), so
/// its connection can serve the next call; in the background if it has not ended yet.
fn read_to_end(mut replies: Replies) {
    if !matches!(replies.next().now_or_never(), Some(None)) {
        tokio::spawn(async move { while replies.next().await.is_some() {} });
    }
}

/// A failure to post as rmcp reports transport failures; [`is_stream_failure`] tells a
/// response stream that could not be resumed from a POST that failed.
fn post_error(error: PostError) -> ServiceError {
    ServiceError::TransportSend(DynamicTransportError::from_parts(
        "streamable-http",
        TypeId::of::<PostError>(),
        Box::new(error),
    ))
}

/// Whether `error` is a call's response stream that broke or ended before the answer and
/// could not be resumed: that call failed, but the session may well be fine (unlike a POST
/// that could not be made, or a closed transport).
pub fn is_stream_failure(error: &ServiceError) -> bool {
    matches!(error, ServiceError::TransportSend(e)
        if matches!(e.error.downcast_ref::<PostError>(), Some(PostError::Stream(_))))
}
