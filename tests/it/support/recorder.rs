//! A client handler that records what the server sends on its own, and answers sampling
//! and roots requests with fixed replies.

use std::sync::{Arc, Mutex};

use rmcp::{
    ClientHandler, ErrorData as McpError, RoleClient,
    model::{
        ClientConfig, CreateMessageRequestParams, CreateMessageResult, ListRootsResult,
        LoggingMessageNotificationParam, ProgressNotificationParam, ProtocolVersion,
        ResourceUpdatedNotificationParam, Root, SamplingMessage,
    },
    service::{NotificationContext, RequestContext},
};

/// Everything a server sent on its own, by kind.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub progress: Vec<ProgressNotificationParam>,
    pub logs: Vec<LoggingMessageNotificationParam>,
    pub tools_changed: usize,
    pub resources_changed: usize,
    pub prompts_changed: usize,
    pub updated: Vec<String>,
    pub sampled: Vec<String>,
}

/// Records notifications; replies to sampling with `"<reply>: <prompt>"` and to roots
/// with `file:///<reply>`; identifies itself with a chosen protocol version.
#[derive(Clone)]
pub struct Recorder {
    config: ClientConfig,
    reply: String,
    seen: Arc<Mutex<Seen>>,
}

impl Recorder {
    pub fn new(version: ProtocolVersion) -> Self {
        Self::replying(version, "sampled")
    }

    /// A recorder that answers sampling with `reply`.
    pub fn replying(version: ProtocolVersion, reply: &str) -> Self {
        Self {
            config: mcp_ephemeral_k8s::upstream::client_config().with_protocol_version(version),
            reply: reply.to_owned(),
            seen: Arc::default(),
        }
    }

    /// What was seen so far.
    pub fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }
}

impl ClientHandler for Recorder {
    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, McpError> {
        let prompt = params
            .messages
            .first()
            .and_then(|m| m.content.first())
            .and_then(|c| c.as_text())
            .map(|t| t.text.clone())
            .unwrap_or_default();
        self.seen.lock().unwrap().sampled.push(prompt.clone());
        let reply = SamplingMessage::assistant_text(format!("{}: {prompt}", self.reply));
        Ok(CreateMessageResult::new(reply, "test-model".into()))
    }

    async fn list_roots(
        &self,
        _context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, McpError> {
        let mut result = ListRootsResult::default();
        result
            .roots
            .push(Root::new(format!("file:///{}", self.reply)));
        Ok(result)
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.seen.lock().unwrap().progress.push(params);
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.seen.lock().unwrap().logs.push(params);
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.seen.lock().unwrap().tools_changed += 1;
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.seen.lock().unwrap().resources_changed += 1;
    }

    async fn on_prompt_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.seen.lock().unwrap().prompts_changed += 1;
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.seen.lock().unwrap().updated.push(params.uri);
    }

    fn get_info(&self) -> ClientConfig {
        self.config.clone()
    }
}
