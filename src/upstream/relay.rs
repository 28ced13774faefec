//! The client handler of an upstream session: what the upstream server sends on its own.
//! Progress and requests (sampling, roots, elicitation) go to the caller they belong to;
//! everything else becomes an [`UpstreamEvent`] for the upstream's owner to relay.

#![expect(
    deprecated,
    reason = "sampling, roots, logging and resources/subscribe are part of 2025-11-25, which we relay"
)]

use std::sync::Arc;

use rmcp::{
    ClientHandler, ErrorData as McpError, RoleClient,
    model::{
        CancelledNotificationParam, ClientConfig, ClientResult, CreateMessageRequest,
        CreateMessageRequestParams, CreateMessageResult, ElicitRequest, ElicitRequestParams,
        ElicitResult, GetExtensions, ListRootsRequest, ListRootsResult,
        LoggingMessageNotificationParam, NotificationMetaObject, ProgressNotificationParam,
        ResourceUpdatedNotificationParam, ServerNotification, ServerRequest,
    },
    service::{
        InboundStreamOrigin, NotificationContext, OriginatingRequestId, PeerRequestOptions,
        RequestContext,
    },
};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::{Ask, Caller, Calls, client_config, upstream_error};

/// Something the upstream server said that its owner relays (with renaming, for mounts).
#[derive(Debug, Clone)]
pub enum UpstreamEvent {
    /// `notifications/tools/list_changed`.
    ToolsChanged,
    /// `notifications/resources/list_changed`.
    ResourcesChanged,
    /// `notifications/prompts/list_changed`.
    PromptsChanged,
    /// `notifications/resources/updated`.
    ResourceUpdated(ResourceUpdatedNotificationParam),
    /// `notifications/message`, with the call it was sent about, when that can be told.
    Log(LoggingMessageNotificationParam, Option<LogOrigin>),
    /// The session ended (the server exited or the connection broke).
    Closed,
    /// The server's standalone stream ended or could not be opened again: the server may be
    /// gone although the session is still open.
    StreamLost,
}

/// The call a log line was sent about.
#[derive(Debug, Clone)]
pub struct LogOrigin {
    /// The downstream session that made the call, when it is a session of ours.
    pub session: Option<u64>,
    /// The id the downstream client gave the call (what a bridge tags the line with, for
    /// the daemon to find the call again even after its answer).
    pub request_id: rmcp::model::RequestId,
}

impl LogOrigin {
    pub(super) fn of(caller: &Caller) -> Self {
        Self {
            session: caller.session,
            request_id: caller.request_id.clone(),
        }
    }
}

/// The `_meta` key with which a bridge tags a child's log line with the id of the call it
/// belongs to (the id the daemon gave that call). A line that arrives after its call's
/// answer (lines and answers travel on different streams) still reaches its caller.
pub const LOG_CALL_KEY: &str = "io.github.mcp-ephemeral-k8s/call";

/// Routes an upstream's messages to the callers they belong to, or to its owner.
#[derive(Clone)]
pub struct Relay {
    calls: Arc<Calls>,
    events: UnboundedSender<UpstreamEvent>,
}

impl Relay {
    /// A relay for the calls recorded in `calls`, with other events on `events`.
    pub fn new(calls: Arc<Calls>, events: UnboundedSender<UpstreamEvent>) -> Self {
        Self { calls, events }
    }

    fn event(&self, event: UpstreamEvent) {
        let _ = self.events.send(event);
    }

    /// Where this relay's events go.
    pub fn events(&self) -> UnboundedSender<UpstreamEvent> {
        self.events.clone()
    }

    /// Sends a request from the upstream to the client whose call caused it: the call the
    /// transport associates it with (streamable HTTP says which response stream it came
    /// on), or else the only `tools/call` in flight (stdio cannot say). Downstream it rides
    /// that call's stream. With no way to tell, it is refused rather than risk asking the
    /// wrong client.
    async fn ask(
        &self,
        request: ServerRequest,
        context: RequestContext<RoleClient>,
    ) -> Result<ClientResult, McpError> {
        let associated = match context.extensions.get::<InboundStreamOrigin>() {
            Some(InboundStreamOrigin::OutboundRequest(id)) => self.calls.caller(id),
            _ => None,
        };
        let Some(caller) = associated.or_else(|| self.calls.sole_tool_call()) else {
            let in_flight = self.calls.tool_calls();
            return Err(McpError::internal_error(
                if in_flight == 0 {
                    "this request is not part of any tool call, so there is no client to ask"
                        .to_owned()
                } else {
                    format!(
                        "cannot tell which of the {in_flight} tool calls in flight this request belongs to \
                         (the transport does not say); retry the call when no other is running"
                    )
                },
                None,
            ));
        };
        Self::ask_caller(&caller, request, &context.ct).await
    }

    /// Sends a request from the upstream to `caller`'s client and waits for the answer;
    /// when `ct` is cancelled (the upstream gave up on it), tells the client to stop too.
    ///
    /// # Errors
    /// The client's error, or why it could not be asked.
    pub async fn ask_caller(
        caller: &Caller,
        mut request: ServerRequest,
        ct: &CancellationToken,
    ) -> Result<ClientResult, McpError> {
        if let Some(asks) = &caller.asks {
            return Self::ask_through_result(asks, request, ct).await;
        }
        request
            .extensions_mut()
            .insert(OriginatingRequestId(caller.request_id.clone()));
        let answer_error = |e| upstream_error("the client could not answer", e);
        let handle = caller
            .peer
            .send_request_with_option(request, PeerRequestOptions::no_options())
            .await
            .map_err(answer_error)?;
        let id = handle.id.clone();
        tokio::select! {
            answer = handle.await_response() => answer.map_err(answer_error),
            () = ct.cancelled() => {
                let reason = Some("cancelled by the server".to_owned());
                let _ = caller.peer.notify_cancelled(CancelledNotificationParam::new(Some(id), reason)).await;
                Err(McpError::internal_error("cancelled by the server", None))
            }
        }
    }

    /// Hands `request` to whoever serves the call, to ask its client in an `input_required`
    /// result, and waits for the answer the client sends when it retries the call.
    async fn ask_through_result(
        asks: &tokio::sync::mpsc::UnboundedSender<Ask>,
        request: ServerRequest,
        ct: &CancellationToken,
    ) -> Result<ClientResult, McpError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let ended = || McpError::internal_error("the call this request belongs to has ended", None);
        asks.send(Ask { request, answer }).map_err(|_| ended())?;
        tokio::select! {
            answer = answered => answer.unwrap_or_else(|_| Err(McpError::internal_error(
                "the client did not answer: it did not retry the call in time",
                None,
            ))),
            () = ct.cancelled() => Err(McpError::internal_error("cancelled by the server", None)),
        }
    }

    /// Passes on a notification the upstream sent on the response stream of `caller`'s
    /// call: progress to its caller, a log message as that caller's, the rest to the
    /// upstream's owner as an [`UpstreamEvent`].
    pub async fn notify(&self, notification: ServerNotification, caller: &Caller) {
        match notification {
            ServerNotification::ProgressNotification(n) => {
                self.calls.route_progress(n.params).await;
            }
            ServerNotification::LoggingMessageNotification(n) => {
                self.event(UpstreamEvent::Log(n.params, Some(LogOrigin::of(caller))));
            }
            ServerNotification::ResourceUpdatedNotification(n) => {
                self.event(UpstreamEvent::ResourceUpdated(n.params));
            }
            ServerNotification::ResourceListChangedNotification(_) => {
                self.event(UpstreamEvent::ResourcesChanged);
            }
            ServerNotification::ToolListChangedNotification(_) => {
                self.event(UpstreamEvent::ToolsChanged);
            }
            ServerNotification::PromptListChangedNotification(_) => {
                self.event(UpstreamEvent::PromptsChanged);
            }
            _ => {}
        }
    }
}

fn unexpected() -> McpError {
    McpError::internal_error("the client answered with an unexpected result type", None)
}

impl ClientHandler for Relay {
    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, McpError> {
        let request = ServerRequest::CreateMessageRequest(CreateMessageRequest::new(params));
        match self.ask(request, context).await? {
            ClientResult::CreateMessageResult(result) => Ok(*result),
            _ => Err(unexpected()),
        }
    }

    async fn list_roots(
        &self,
        context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, McpError> {
        let request = ServerRequest::ListRootsRequest(ListRootsRequest::default());
        match self.ask(request, context).await? {
            ClientResult::ListRootsResult(result) => Ok(result),
            _ => Err(unexpected()),
        }
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        let request = ServerRequest::ElicitRequest(ElicitRequest::new(params));
        match self.ask(request, context).await? {
            ClientResult::ElicitResult(result) => Ok(result),
            _ => Err(unexpected()),
        }
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.calls.route_progress(params).await;
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.event(UpstreamEvent::ResourceUpdated(params));
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.event(UpstreamEvent::ResourcesChanged);
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.event(UpstreamEvent::ToolsChanged);
    }

    async fn on_prompt_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.event(UpstreamEvent::PromptsChanged);
    }

    fn get_info(&self) -> ClientConfig {
        client_config()
    }
}

/// Takes the call tag ([`LOG_CALL_KEY`]) out of a notification's `_meta` (where a
/// received one has it: in its extensions); returns the id it named.
pub(super) fn take_tag(meta: &mut NotificationMetaObject) -> Option<rmcp::model::RequestId> {
    serde_json::from_value(meta.remove(LOG_CALL_KEY)?).ok()
}

/// Tags a log line with the id of the call it belongs to.
pub fn tag(params: &mut LoggingMessageNotificationParam, request_id: &rmcp::model::RequestId) {
    let meta = params.meta.get_or_insert_with(Default::default);
    if let Ok(id) = serde_json::to_value(request_id) {
        meta.insert(LOG_CALL_KEY.to_owned(), id);
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::{LoggingLevel, LoggingMessageNotification, RequestId, ServerJsonRpcMessage};

    use super::*;

    #[test]
    fn a_tag_crosses_the_wire_and_is_taken_out_where_a_receiver_has_it() {
        let mut line = LoggingMessageNotificationParam::new(LoggingLevel::Info, "x".into());
        let id = RequestId::String("ek-posted-7".into());
        tag(&mut line, &id);
        let sent = ServerJsonRpcMessage::notification(
            ServerNotification::LoggingMessageNotification(LoggingMessageNotification::new(line)),
        );
        let wire = serde_json::to_string(&sent).unwrap();
        let ServerJsonRpcMessage::Notification(received) = serde_json::from_str(&wire).unwrap()
        else {
            panic!("{wire}")
        };
        let ServerNotification::LoggingMessageNotification(mut received) = received.notification
        else {
            panic!("{wire}")
        };
        let meta = received.extensions.get_mut::<NotificationMetaObject>();
        assert_eq!(meta.and_then(take_tag), Some(id));
    }
}
