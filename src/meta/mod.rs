//! The meta-server: the MCP handler with the daemon's own tools and resources
//! (`config://version`, `config://mounts`), merged with what is mounted. One
//! [`MetaServer`] serves one client session; all share one [`SessionManager`].
//!
//! Parts: [`params`] (tool parameters and outputs), `tools` (the meta tools), `forward`
//! (requests passed to the mounts that own them, and [`MountedCalls`], the layer that
//! serves mounted tool calls on `/mcp` without rmcp's session machinery), `progress`
//! (progress and log notifications), `authorize` (ownership checks and audit), `measure`
//! (each call's span and metrics), `revisions` (what differs per protocol revision),
//! `listen` (`subscriptions/listen`).

// Logging and resources/subscribe are deprecated by SEP-2577 (2026-07-28) but part of
// 2025-11-25, which we serve.
#![expect(deprecated)]

mod authorize;
mod discovery;
mod forward;
mod listen;
mod measure;
pub mod params;
mod progress;
mod registry;
mod revisions;
mod schema;
mod tools;

use std::{borrow::Cow, sync::Arc};

use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    handler::server::{router::tool::ToolRouter, tool::ToolCallContext},
    model::{
        CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
        GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
        ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel,
        MetaObject, PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams,
        ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ServerCapabilities,
        ServerConfig, SetLevelRequestParams, SubscribeRequestParams, SubscriptionFilter, Tool,
        UnsubscribeRequestParams,
    },
    service::{NotificationContext, RequestContext, SubscriptionContext},
    transport::common::http_header::HEADER_SESSION_ID,
};

use authorize::principal;

use crate::{
    manager::SessionManager,
    mount::cycle::{INSTANCE_KEY, REACHABLE_KEY},
    upstream::Caller,
    upstream::Rounds,
};
pub use forward::MountedCalls;
use measure::measured;
pub use revisions::protocol_versions;
use revisions::{list_ttl_ms, version_contents};
pub use tools::TOOL_NAMES;

/// The URI of the resource holding the daemon's version.
pub const VERSION_URI: &str = "config://version";

/// The URI of the resource listing the mounts and their health (JSON).
pub const MOUNTS_URI: &str = "config://mounts";

const INSTRUCTIONS: &str = "This server creates and manages ephemeral MCP servers on demand \
(as Kubernetes Jobs, or local processes when no cluster is configured), with custom runtime \
executors (uvx, npx), packages and arguments. Call list_presets for ready-made servers, \
create_mcp_server to start one (wait_for_ready=true waits until it answers), mount_mcp_server \
to use its tools here as <name>_<tool>, and delete_mcp_server when done.";

/// Serves the meta tools and the mounts to one client session.
///
/// Not `Clone`: dropping it (when its session ends) unregisters the session.
pub struct MetaServer {
    manager: Arc<SessionManager>,
    tools: Arc<ToolRouter<Self>>,
    /// This session's id among the manager's sessions.
    session_id: u64,
    /// The mounted calls of 2026-07-28 clients waiting for their answers, shared.
    rounds: Arc<Rounds>,
}

impl MetaServer {
    /// A handler for one session over `manager` (stdio: the only one).
    pub fn new(manager: Arc<SessionManager>) -> Self {
        let rounds = Arc::new(Rounds::new(manager.limits().call_timeout));
        Self::sharing(manager, rounds)
    }

    /// A handler for one of many sessions (or stateless requests) over `manager`, all
    /// sharing `rounds`.
    pub fn sharing(manager: Arc<SessionManager>, rounds: Arc<Rounds>) -> Self {
        let session = manager.sessions().next_id();
        Self {
            manager,
            tools: Self::shared_tool_router(),
            session_id: session,
            rounds,
        }
    }

    /// The meta tools' router, made once: a 2026-07-28 client's every request has a
    /// handler of its own.
    fn shared_tool_router() -> Arc<ToolRouter<Self>> {
        static ROUTER: std::sync::OnceLock<Arc<ToolRouter<MetaServer>>> =
            std::sync::OnceLock::new();
        ROUTER
            .get_or_init(|| {
                Arc::new(Self::tool_router() + Self::discovery_router() + Self::registry_router())
            })
            .clone()
    }

    /// The meta tools as listed, with standard schemas: made once, and shared (their
    /// schemas are `Arc`s) by every list, however many are waiting to be sent.
    fn meta_tools(&self) -> &'static [Tool] {
        static TOOLS: std::sync::OnceLock<Vec<Tool>> = std::sync::OnceLock::new();
        TOOLS.get_or_init(|| {
            let tools = self.tools.list_all().into_iter();
            tools.map(schema::standard).collect()
        })
    }

    /// Whether tools/list shows a caller's `count` mounted tools (progressive listing:
    /// not when they are more than `--max-listed-tools`).
    fn lists_mounted(&self, count: usize) -> bool {
        let max = self.manager.limits().max_listed_tools;
        max.is_none_or(|max| count <= max)
    }

    /// Whether this session wants `info` log messages (the default until it sets a level).
    fn logs_info(&self) -> bool {
        let level = self.manager.sessions().log_level(self.session_id);
        level.is_none_or(|level| matches!(level, LoggingLevel::Debug | LoggingLevel::Info))
    }
}

impl Drop for MetaServer {
    fn drop(&mut self) {
        self.manager.sessions().unregister(self.session_id);
    }
}

impl ServerHandler for MetaServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_resources()
            .enable_resources_list_changed()
            .enable_resources_subscribe()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_logging()
            .enable_completions()
            .build();
        let mut meta = MetaObject::new();
        meta.0
            .insert(INSTANCE_KEY.into(), self.manager.mounts().instance().into());
        meta.0.insert(
            REACHABLE_KEY.into(),
            self.manager.mounts().reachable().into(),
        );
        let mut info = ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(match self.manager.limits().max_listed_tools {
                Some(max) => format!(
                    "{INSTRUCTIONS} When the mounted tools you may use are more than {max}, \
                     tools/list shows only this server's own tools: find the others with \
                     search_mounted_tools (say what you want to do) and call them with \
                     call_mounted_tool."
                ),
                None => INSTRUCTIONS.to_owned(),
            });
        info.meta = Some(meta);
        info
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(protocol_versions())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let who = crate::model::Principal::of(&context.extensions);
        // rmcp hands over the HTTP request that carried the notification.
        let http_id = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.headers.get(HEADER_SESSION_ID))
            .and_then(|id| id.to_str().ok());
        self.manager
            .sessions()
            .register(self.session_id, context.peer, who, http_id);
    }

    async fn list_tools(
        &self,
        _params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let mut tools = self.meta_tools().to_vec();
        if self.manager.registry().is_none() {
            tools.retain(|t| t.name != registry::SEARCH_TOOL);
        }
        let mounted = self.manager.mounts().tools(&principal(&context));
        if self.lists_mounted(mounted.len()) {
            tools.extend(mounted);
        }
        let mut list = ListToolsResult::with_all_items(tools);
        list.ttl_ms = list_ttl_ms(&context);
        Ok(list)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.meta_tools().iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        params: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let tool = params.name.to_string();
        let meta_tool = self.tools.has_route(&tool);
        let who = principal(&context);
        // Boxed: rmcp moves the handler's future several times per request, and a mounted
        // call's is kilobytes (measured: a third of a stateless call's instructions).
        let call = Box::pin(self.dispatch_call(params, context));
        measured(&self.manager, self.session_id, &tool, meta_tool, &who, call).await
    }

    async fn list_resources(
        &self,
        _params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let version = Resource::new(VERSION_URI, "version")
            .with_description("The version of mcp-ephemeral-k8s serving this endpoint");
        let mounts = Resource::new(MOUNTS_URI, "mounts")
            .with_description("The mounted servers, their names and health, as JSON")
            .with_mime_type("application/json");
        let mut resources = vec![version, mounts];
        resources.extend(self.manager.mounts().resources(&principal(&context)));
        let mut list = ListResourcesResult::with_all_items(resources);
        list.ttl_ms = list_ttl_ms(&context);
        Ok(list)
    }

    async fn list_resource_templates(
        &self,
        _params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let templates = self.manager.mounts().templates(&principal(&context));
        let mut list = ListResourceTemplatesResult::with_all_items(templates);
        list.ttl_ms = list_ttl_ms(&context);
        Ok(list)
    }

    async fn read_resource(
        &self,
        params: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let contents = match params.uri.as_str() {
            VERSION_URI => version_contents(),
            MOUNTS_URI => {
                let list = self.manager.mounts().list(&principal(&context));
                let mounts = serde_json::to_string_pretty(&list).unwrap_or_default();
                let json = ResourceContents::text(mounts, MOUNTS_URI);
                vec![json.with_mime_type("application/json")]
            }
            _ => return self.read_mounted(params, &context).await,
        };
        Ok(ReadResourceResult::new(contents).into())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        // All it asks for; rmcp narrows that to the capabilities of `get_info`.
        Some(requested.clone())
    }

    async fn listen(&self, subscription: SubscriptionContext) -> Result<(), McpError> {
        self.serve_listener(subscription).await
    }

    async fn subscribe(
        &self,
        params: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        if params.uri == VERSION_URI || params.uri == MOUNTS_URI {
            // The daemon's own resources: their changes come as resources/list_changed.
            return Ok(());
        }
        self.subscribe_mounted(params, &context).await
    }

    async fn unsubscribe(
        &self,
        params: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        if params.uri == VERSION_URI || params.uri == MOUNTS_URI {
            return Ok(());
        }
        self.unsubscribe_mounted(params, &context).await
    }

    async fn list_prompts(
        &self,
        _params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let prompts = self.manager.mounts().prompts(&principal(&context));
        let mut list = ListPromptsResult::with_all_items(prompts);
        list.ttl_ms = list_ttl_ms(&context);
        Ok(list)
    }

    async fn get_prompt(
        &self,
        params: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        self.get_mounted_prompt(params, &context).await
    }

    async fn complete(
        &self,
        params: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        self.complete_mounted(params, &context).await
    }

    async fn set_level(
        &self,
        params: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let sessions = self.manager.sessions();
        sessions.set_log_level(self.session_id, params.level);
        let who = authorize::principal(&context);
        self.manager.mounts().set_level(&who).await;
        Ok(())
    }
}

impl MetaServer {
    /// Runs a meta tool, or passes the call to the mount that has the tool.
    async fn dispatch_call(
        &self,
        params: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if self.tools.has_route(&params.name) {
            return self
                .tools
                .call(ToolCallContext::new(self, params, context))
                .await;
        }
        let who = principal(&context);
        let name = params.name.to_string();
        if forward::Shape::of(Some(&context.meta), &context.peer) == forward::Shape::Modern {
            // Its server may ask it things only through input_required results.
            return self.call_in_rounds(params, &context, &who).await;
        }
        let routed = forward::RoutedCall::route(&self.manager, params, &who)
            .ok_or_else(|| forward::unknown_tool(&self.manager, &name, &who))?;
        let caller = Caller::of(&context, true, self.session_id);
        Ok(routed.answer(&self.manager, caller, &context.ct).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_lists_every_meta_tool() {
        let mut routed: Vec<String> = MetaServer::shared_tool_router()
            .list_all()
            .iter()
            .map(|t| t.name.to_string())
            .collect();
        routed.sort();
        assert_eq!(routed, TOOL_NAMES);
    }
}
