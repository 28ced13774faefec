//! The server handler of one downstream session: forwards everything to the upstream.

#![expect(
    deprecated,
    reason = "sampling, roots, logging and resources/subscribe are part of 2025-11-25, which we relay"
)]

use std::{borrow::Cow, sync::Arc};

use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    model::{
        CallToolRequest, CallToolRequestParams, CallToolResponse, CallToolResult, ClientRequest,
        CompleteRequest, CompleteRequestParams, CompleteResult, ContentBlock, GetPromptRequest,
        GetPromptRequestParams, GetPromptResponse, ListPromptsResult, ListResourceTemplatesResult,
        ListResourcesResult, ListToolsResult, LoggingMessageNotification, PaginatedRequestParams,
        PromptListChangedNotification, ProtocolVersion, ReadResourceRequest,
        ReadResourceRequestParams, ReadResourceResponse, RequestOptionalParam,
        ResourceListChangedNotification, ResourceUpdatedNotification, ServerConfig,
        ServerNotification, ServerResult, SetLevelRequest, SetLevelRequestParams, SubscribeRequest,
        SubscribeRequestParams, SubscriptionFilter, ToolListChangedNotification,
        UnsubscribeRequest, UnsubscribeRequestParams,
    },
    service::{NotificationContext, RequestContext, SubscriptionContext},
};
use tokio::sync::mpsc::UnboundedReceiver;

use super::{
    Caller, ClientSessions, Rounds, Upstream, UpstreamEvent, tool_call_response, upstream_error,
};

/// The newest protocol version served downstream: 2026-07-28, stateless, beside every
/// revision with `initialize`, whatever revision the upstream speaks.
pub const MAX_SERVED_VERSION: ProtocolVersion = ProtocolVersion::V_2026_07_28;

/// Serves one downstream session by forwarding to a shared [`Upstream`], unchanged.
///
/// Not `Clone`: dropping it (when its session ends) unregisters the session.
pub struct Forwarder {
    upstream: Arc<Upstream>,
    sessions: Arc<ClientSessions>,
    session_id: u64,
    /// The calls of 2026-07-28 clients waiting for their answers, shared.
    rounds: Arc<Rounds>,
}

impl Forwarder {
    /// A handler for a new downstream session (or stateless request) of `upstream`, one of
    /// `sessions`, sharing `rounds` with the others.
    pub fn new(
        upstream: Arc<Upstream>,
        sessions: Arc<ClientSessions>,
        rounds: Arc<Rounds>,
    ) -> Self {
        let session = sessions.next_id();
        Self {
            upstream,
            sessions,
            session_id: session,
            rounds,
        }
    }

    /// A tool call of a 2026-07-28 client, in rounds: the upstream's requests come back to
    /// the client as `input_required` results.
    async fn call_in_rounds(
        &self,
        mut params: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let who = crate::model::Principal::of(&context.extensions);
        let tool = params.name.to_string();
        let call = match self.rounds.resume(&mut params, &who)? {
            Some(call) => call,
            None => {
                let upstream = self.upstream.clone();
                let caller = Caller::of(context, true, self.session_id);
                Rounds::start(caller, move |caller, ct| async move {
                    let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
                    let result = upstream.forward(request, caller, &ct, None).await;
                    match result.map(tool_call_response) {
                        Ok(Some(response)) => response,
                        Ok(None) => failed("the server answered tools/call with something else"),
                        Err(e) => failed(&upstream_error("tools/call", e).message),
                    }
                })
            }
        };
        self.rounds.drive(call, &who, tool, context).await
    }

    async fn forward(
        &self,
        request: ClientRequest,
        context: RequestContext<RoleServer>,
        what: &str,
    ) -> Result<ServerResult, McpError> {
        let caller = Caller::of(
            &context,
            matches!(request, ClientRequest::CallToolRequest(_)),
            self.session_id,
        );
        self.upstream
            .forward(request, caller, &context.ct, None)
            .await
            .map_err(|e| upstream_error(what, e))
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.sessions.unregister(self.session_id);
    }
}

/// Whether `context` is a request of a 2026-07-28 client.
fn is_modern(context: &RequestContext<RoleServer>) -> bool {
    super::is_modern(Some(&context.meta), &context.peer)
}

/// A tool's error result saying `text`.
fn failed(text: &str) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(text)]).into()
}

/// Relays an upstream's events to `sessions` unchanged, until the upstream closes.
pub async fn relay_events(
    mut events: UnboundedReceiver<UpstreamEvent>,
    sessions: Arc<ClientSessions>,
) {
    while let Some(event) = events.recv().await {
        let notification = match event {
            UpstreamEvent::ToolsChanged => ServerNotification::ToolListChangedNotification(
                ToolListChangedNotification::default(),
            ),
            UpstreamEvent::ResourcesChanged => ServerNotification::ResourceListChangedNotification(
                ResourceListChangedNotification::default(),
            ),
            UpstreamEvent::PromptsChanged => ServerNotification::PromptListChangedNotification(
                PromptListChangedNotification::default(),
            ),
            // A bridge serves the daemon's mount: the line goes to every session, tagged
            // with the call it is about, so the daemon routes it to that call's client.
            UpstreamEvent::Log(mut params, origin) => {
                if let Some(origin) = origin {
                    super::relay::tag(&mut params, &origin.request_id);
                }
                ServerNotification::LoggingMessageNotification(LoggingMessageNotification::new(
                    params,
                ))
            }
            UpstreamEvent::ResourceUpdated(params) => {
                let uri = params.uri.clone();
                let notification = ResourceUpdatedNotification::new(params);
                sessions
                    .notify_subscribers(
                        &uri,
                        // A bridge serves one owner's child: every session may have it.
                        &crate::model::Ownership::default(),
                        ServerNotification::ResourceUpdatedNotification(notification),
                    )
                    .await;
                continue;
            }
            UpstreamEvent::Closed => return,
            // Only streamable-HTTP upstreams report it; a bridge's is stdio.
            UpstreamEvent::StreamLost => continue,
        };
        sessions.broadcast(notification).await;
    }
}

fn unexpected(what: &str) -> McpError {
    McpError::internal_error(
        format!("{what}: the server answered with an unexpected result"),
        None,
    )
}

fn paginated<M: Default>(
    params: Option<PaginatedRequestParams>,
) -> RequestOptionalParam<M, PaginatedRequestParams> {
    match params {
        Some(params) => RequestOptionalParam::with_param(params),
        None => RequestOptionalParam::default(),
    }
}

impl ServerHandler for Forwarder {
    fn get_info(&self) -> ServerConfig {
        self.upstream.info().clone()
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(&MAX_SERVED_VERSION))
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let who = crate::model::Principal::of(&context.extensions);
        self.sessions
            .register(self.session_id, context.peer, who, None);
    }

    async fn list_tools(
        &self,
        params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let request = ClientRequest::ListToolsRequest(paginated(params));
        match self.forward(request, context, "tools/list").await? {
            ServerResult::ListToolsResult(result) => Ok(result),
            _ => Err(unexpected("tools/list")),
        }
    }

    async fn call_tool(
        &self,
        params: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if is_modern(&context) {
            return self.call_in_rounds(params, &context).await;
        }
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
        let result = self.forward(request, context, "tools/call").await?;
        tool_call_response(result).ok_or_else(|| unexpected("tools/call"))
    }

    async fn list_resources(
        &self,
        params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let request = ClientRequest::ListResourcesRequest(paginated(params));
        match self.forward(request, context, "resources/list").await? {
            ServerResult::ListResourcesResult(result) => Ok(result),
            _ => Err(unexpected("resources/list")),
        }
    }

    async fn list_resource_templates(
        &self,
        params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let request = ClientRequest::ListResourceTemplatesRequest(paginated(params));
        match self
            .forward(request, context, "resources/templates/list")
            .await?
        {
            ServerResult::ListResourceTemplatesResult(result) => Ok(result),
            _ => Err(unexpected("resources/templates/list")),
        }
    }

    async fn read_resource(
        &self,
        params: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let request = ClientRequest::ReadResourceRequest(ReadResourceRequest::new(params));
        match self.forward(request, context, "resources/read").await? {
            ServerResult::ReadResourceResult(result) => Ok(ReadResourceResponse::Complete(result)),
            ServerResult::InputRequiredResult(result) => {
                Ok(ReadResourceResponse::InputRequired(result))
            }
            _ => Err(unexpected("resources/read")),
        }
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        // All it asks for; rmcp narrows that to the upstream's capabilities.
        Some(requested.clone())
    }

    /// A 2026-07-28 client's listen stream is a session for as long as it is open: it gets
    /// the upstream's list changes and the updates of the resources it names.
    async fn listen(&self, subscription: SubscriptionContext) -> Result<(), McpError> {
        let subscribe = |uri, context| self.subscribe(SubscribeRequestParams::new(uri), context);
        let unsubscribe =
            |uri, context| self.unsubscribe(UnsubscribeRequestParams::new(uri), context);
        self.sessions
            .serve_listener(self.session_id, subscription, subscribe, unsubscribe)
            .await
    }

    async fn subscribe(
        &self,
        params: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let uri = params.uri.clone();
        let request = ClientRequest::SubscribeRequest(SubscribeRequest::new(params));
        self.forward(request, context, "resources/subscribe")
            .await?;
        self.sessions.subscribe(self.session_id, &uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        params: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        if self.sessions.unsubscribe(self.session_id, &params.uri) {
            let request = ClientRequest::UnsubscribeRequest(UnsubscribeRequest::new(params));
            self.forward(request, context, "resources/unsubscribe")
                .await?;
        }
        Ok(())
    }

    async fn list_prompts(
        &self,
        params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let request = ClientRequest::ListPromptsRequest(paginated(params));
        match self.forward(request, context, "prompts/list").await? {
            ServerResult::ListPromptsResult(result) => Ok(result),
            _ => Err(unexpected("prompts/list")),
        }
    }

    async fn get_prompt(
        &self,
        params: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let request = ClientRequest::GetPromptRequest(GetPromptRequest::new(params));
        match self.forward(request, context, "prompts/get").await? {
            ServerResult::GetPromptResult(result) => Ok(GetPromptResponse::Complete(result)),
            ServerResult::InputRequiredResult(result) => {
                Ok(GetPromptResponse::InputRequired(result))
            }
            _ => Err(unexpected("prompts/get")),
        }
    }

    async fn complete(
        &self,
        params: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let request = ClientRequest::CompleteRequest(CompleteRequest::new(params));
        match self
            .forward(request, context, "completion/complete")
            .await?
        {
            ServerResult::CompleteResult(result) => Ok(result),
            _ => Err(unexpected("completion/complete")),
        }
    }

    async fn set_level(
        &self,
        params: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let request = ClientRequest::SetLevelRequest(SetLevelRequest::new(params));
        self.forward(request, context, "logging/setLevel")
            .await
            .map(drop)
    }
}
