//! The meta-server: the MCP handler with the daemon's own tools (`list_presets`,
//! `create_mcp_server`, `delete_mcp_server`, `get_mcp_server_status`, `list_mcp_servers`)
//! and the resource `config://version`. One [`MetaServer`] serves one client session; all
//! share one [`SessionManager`].
//!
//! Parts: [`params`] (tool parameters), [`progress`] (progress and log notifications).

// Logging is deprecated by SEP-2577 (2026-07-28) but part of 2025-11-25, which we serve.
#![expect(deprecated)]

pub mod params;
mod progress;

use std::{
    borrow::Cow,
    sync::{Arc, Mutex},
    time::Duration,
};

use rmcp::{
    ErrorData as McpError, Json, RoleServer, ServerHandler,
    handler::server::{
        router::tool::ToolRouter,
        tool::{ToolCallContext, schema_for_output},
        wrapper::Parameters,
    },
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
        ListResourcesResult, ListToolsResult, LoggingLevel, PaginatedRequestParams,
        ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
        Resource, ResourceContents, ServerCapabilities, ServerConfig, SetLevelRequestParams, Tool,
    },
    service::RequestContext,
    tool, tool_router,
};
use serde::Serialize;

use crate::{
    backend::Progress,
    model::{DeletedServer, EphemeralMcpServer, ServerStatus},
    presets::Preset,
    proxy::MAX_SERVED_VERSION,
    session::{CreateOptions, SessionManager},
};
use params::{CreateParams, DeleteParams, ListOutput, StatusParams};

/// The URI of the resource holding the daemon's version.
pub const VERSION_URI: &str = "config://version";

const INSTRUCTIONS: &str = "This server creates and manages ephemeral MCP servers on demand \
(as Kubernetes Jobs, or local processes when no cluster is configured), with custom runtime \
executors (uvx, npx), packages and arguments. Call list_presets for ready-made servers, \
create_mcp_server to start one (wait_for_ready=true waits until it answers), connect to its \
`url`, and delete_mcp_server when done.";

/// Serves the meta tools to one client session.
pub struct MetaServer {
    manager: Arc<SessionManager>,
    tools: ToolRouter<Self>,
    /// The minimum level of log notifications this session asked for. A std mutex: only
    /// read or written, never held across an await.
    log_level: Mutex<LoggingLevel>,
}

impl MetaServer {
    /// A handler for one session over `manager`.
    pub fn new(manager: Arc<SessionManager>) -> Self {
        Self {
            manager,
            tools: Self::tool_router(),
            log_level: Mutex::new(LoggingLevel::Info),
        }
    }

    fn logs_info(&self) -> bool {
        let level = *self
            .log_level
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        matches!(level, LoggingLevel::Debug | LoggingLevel::Info)
    }
}

/// A tool result holding a list: the JSON array as text and `{"result": [...]}` as
/// structured content.
fn list_result<T: Serialize>(items: Vec<T>) -> CallToolResult {
    let text = serde_json::to_string(&items).unwrap_or_else(|_| "[]".into());
    let structured = serde_json::to_value(ListOutput { result: items }).unwrap_or_default();
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    result
}

#[tool_router]
impl MetaServer {
    /// Lists the preset server configurations.
    #[tool(
        description = "List the preset MCP servers (name, description and configuration); pass a name as `preset` to create_mcp_server.",
        output_schema = schema_for_output::<ListOutput<Preset>>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_presets(&self) -> CallToolResult {
        let presets = self.manager.presets().all().iter().map(|p| Preset {
            config: p.config.redacted(),
            ..p.clone()
        });
        list_result(presets.collect())
    }

    /// Lists the servers this daemon runs.
    #[tool(
        description = "List the MCP servers this daemon has created and not deleted, with their endpoints.",
        output_schema = schema_for_output::<ListOutput<EphemeralMcpServer>>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_mcp_servers(&self) -> CallToolResult {
        list_result(self.manager.list_mcp_servers())
    }

    /// Starts a server.
    #[tool(
        description = "Create a new ephemeral MCP server running a package with a runtime executor (e.g. runtime_exec='uvx', runtime_mcp='mcp-server-time'; or runtime_exec='npx', runtime_mcp='@modelcontextprotocol/server-filesystem', runtime_args='/tmp'), or from a preset. Returns its job_name and its endpoints: `url` (streamable HTTP) and `sse_url` (legacy SSE). With wait_for_ready=true it returns once the server answers, reporting progress meanwhile.",
        annotations(destructive_hint = false, open_world_hint = true)
    )]
    async fn create_mcp_server(
        &self,
        Parameters(params): Parameters<CreateParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<EphemeralMcpServer>, String> {
        let (config, preset) = match params.preset.as_deref().filter(|p| !p.is_empty()) {
            Some(name) => {
                if params.runtime_exec.is_some() || params.runtime_mcp.is_some() {
                    return Err(format!(
                        "give either preset ({name:?}) or runtime_exec/runtime_mcp, not both"
                    ));
                }
                let mut config = self
                    .manager
                    .preset_config(name)
                    .map_err(|e| e.to_string())?;
                if !params.runtime_args.is_empty() {
                    config.runtime_args = params.runtime_args;
                }
                config.env.extend(params.env);
                (config, Some(name.to_owned()))
            }
            None => {
                if params.runtime_exec.is_none() && params.runtime_mcp.is_none() {
                    return Err(
                        "runtime_exec and runtime_mcp are required (e.g. runtime_exec='uvx', \
                         runtime_mcp='mcp-server-time'), or give a preset (see list_presets)"
                            .to_owned(),
                    );
                }
                let config = crate::model::EphemeralMcpServerConfig {
                    runtime_exec: params.runtime_exec,
                    runtime_mcp: params.runtime_mcp,
                    runtime_args: params.runtime_args,
                    env: params.env,
                    ..Default::default()
                };
                (config, None)
            }
        };
        let (progress, messages) = Progress::channel();
        let token = context.meta.get_progress_token();
        let relay = progress::relay(messages, context.peer.clone(), token, self.logs_info());
        let options = CreateOptions {
            wait_for_ready: params.wait_for_ready,
            expose_port: true,
            ready_timeout: params.ready_timeout_secs.map(Duration::from_secs),
            preset,
            progress,
        };
        let result = tokio::select! {
            result = self.manager.create(config, options) => result,
            () = context.ct.cancelled() => return Err("cancelled by the client".to_owned()),
        };
        // Every progress message is sent before the result.
        let _ = relay.await;
        result.map(Json).map_err(|e| e.to_string())
    }

    /// Stops a server.
    #[tool(
        description = "Delete an ephemeral MCP server and everything created for it (processes, or Job, pods and Service). Returns the server as it was and what was removed.",
        annotations(
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn delete_mcp_server(
        &self,
        Parameters(params): Parameters<DeleteParams>,
    ) -> Result<Json<DeletedServer>, String> {
        let job_name = require_job_name(&params.job_name)?;
        self.manager
            .delete_mcp_server(job_name, params.wait_for_deletion)
            .await
            .map(Json)
            .map_err(|e| e.to_string())
    }

    /// Reports a server's state.
    #[tool(
        description = "Get the status of an ephemeral MCP server: phase, whether it is ready, start time, pods or processes, conditions, the last error and the tail of its log.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_mcp_server_status(
        &self,
        Parameters(params): Parameters<StatusParams>,
    ) -> Result<Json<ServerStatus>, String> {
        let job_name = require_job_name(&params.job_name)?;
        self.manager
            .get_mcp_server_status(job_name)
            .await
            .map(Json)
            .map_err(|e| e.to_string())
    }
}

fn require_job_name(job_name: &str) -> Result<&str, String> {
    let job_name = job_name.trim();
    if job_name.is_empty() {
        return Err(
            "job_name is required: pass the job_name returned by create_mcp_server \
                    (list_mcp_servers shows them all)"
                .to_owned(),
        );
    }
    Ok(job_name)
}

impl ServerHandler for MetaServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_logging()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(&MAX_SERVED_VERSION))
    }

    async fn list_tools(
        &self,
        _params: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.list_all()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.get(name).cloned()
    }

    async fn call_tool(
        &self,
        params: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if !self.tools.has_route(&params.name) {
            return Err(McpError::invalid_params(
                format!(
                    "unknown tool {:?}; call tools/list to see the tools",
                    params.name
                ),
                None,
            ));
        }
        self.tools
            .call(ToolCallContext::new(self, params, context))
            .await
    }

    async fn list_resources(
        &self,
        _params: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let version = Resource::new(VERSION_URI, "version")
            .with_description("The version of mcp-ephemeral-k8s serving this endpoint");
        Ok(ListResourcesResult::with_all_items(vec![version]))
    }

    async fn read_resource(
        &self,
        params: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        if params.uri != VERSION_URI {
            return Err(McpError::resource_not_found(
                format!(
                    "no resource {:?}; resources/list shows what exists",
                    params.uri
                ),
                None,
            ));
        }
        let contents = ResourceContents::text(env!("CARGO_PKG_VERSION"), VERSION_URI);
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn set_level(
        &self,
        params: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        *self
            .log_level
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = params.level;
        Ok(())
    }
}
