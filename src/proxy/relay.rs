//! The client handler of an upstream session: relays what the upstream server sends on
//! its own (notifications, and requests such as sampling) to the downstream sessions.

#![expect(
    deprecated,
    reason = "sampling, roots, logging and resources/subscribe are part of 2025-11-25, which we relay"
)]

use std::sync::Arc;

use rmcp::{
    ClientHandler, ErrorData as McpError, RoleClient,
    model::{
        ClientConfig, ClientResult, CreateMessageRequest, CreateMessageRequestParams,
        CreateMessageResult, ElicitRequest, ElicitRequestParams, ElicitResult, ListRootsRequest,
        ListRootsResult, LoggingMessageNotification, LoggingMessageNotificationParam,
        ProgressNotificationParam, PromptListChangedNotification, ResourceListChangedNotification,
        ResourceUpdatedNotification, ResourceUpdatedNotificationParam, ServerNotification,
        ServerRequest, ToolListChangedNotification,
    },
    service::{NotificationContext, RequestContext},
};

use super::{Downstreams, client_config};

/// Relays an upstream's notifications and requests to its [`Downstreams`].
#[derive(Clone)]
pub struct Relay {
    downstreams: Arc<Downstreams>,
}

impl Relay {
    /// A relay to `downstreams`.
    pub fn new(downstreams: Arc<Downstreams>) -> Self {
        Self { downstreams }
    }

    /// Sends a request from the upstream to the downstream session that should answer it.
    async fn ask_downstream(&self, request: ServerRequest) -> Result<ClientResult, McpError> {
        let Some(peer) = self.downstreams.requester() else {
            return Err(McpError::internal_error(
                "no client is connected to answer this request",
                None,
            ));
        };
        peer.send_request(request)
            .await
            .map_err(|e| super::upstream_error("the client could not answer", e))
    }
}

fn unexpected() -> McpError {
    McpError::internal_error("the client answered with an unexpected result type", None)
}

impl ClientHandler for Relay {
    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, McpError> {
        let request = ServerRequest::CreateMessageRequest(CreateMessageRequest::new(params));
        match self.ask_downstream(request).await? {
            ClientResult::CreateMessageResult(result) => Ok(*result),
            _ => Err(unexpected()),
        }
    }

    async fn list_roots(
        &self,
        _context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, McpError> {
        let request = ServerRequest::ListRootsRequest(ListRootsRequest::default());
        match self.ask_downstream(request).await? {
            ClientResult::ListRootsResult(result) => Ok(result),
            _ => Err(unexpected()),
        }
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        let request = ServerRequest::ElicitRequest(ElicitRequest::new(params));
        match self.ask_downstream(request).await? {
            ClientResult::ElicitResult(result) => Ok(result),
            _ => Err(unexpected()),
        }
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.downstreams.route_progress(params).await;
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let notification = LoggingMessageNotification::new(params);
        self.downstreams
            .broadcast(ServerNotification::LoggingMessageNotification(notification))
            .await;
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let uri = params.uri.clone();
        let notification = ServerNotification::ResourceUpdatedNotification(
            ResourceUpdatedNotification::new(params),
        );
        self.downstreams
            .notify_subscribers(&uri, notification)
            .await;
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let n = ResourceListChangedNotification::default();
        self.downstreams
            .broadcast(ServerNotification::ResourceListChangedNotification(n))
            .await;
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let n = ToolListChangedNotification::default();
        self.downstreams
            .broadcast(ServerNotification::ToolListChangedNotification(n))
            .await;
    }

    async fn on_prompt_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let n = PromptListChangedNotification::default();
        self.downstreams
            .broadcast(ServerNotification::PromptListChangedNotification(n))
            .await;
    }

    fn get_info(&self) -> ClientConfig {
        client_config()
    }
}
