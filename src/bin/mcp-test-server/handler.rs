//! The test server's MCP handler: capabilities, tools (the router's plus `--extra-tool`s),
//! resources, templates, prompts, completions, subscriptions and logging.

use std::{borrow::Cow, sync::Arc};

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    handler::server::tool::ToolCallContext,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams,
        CompleteResult, CompletionInfo, ContentBlock, GetPromptRequestParams, GetPromptResponse,
        GetPromptResult, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
        ListToolsResult, PaginatedRequestParams, Prompt, PromptArgument, PromptMessage,
        ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
        Resource, ResourceContents, ResourceTemplate, Role, ServerCapabilities, ServerConfig,
        SetLevelRequestParams, SubscribeRequestParams, Tool, UnsubscribeRequestParams,
    },
    service::RequestContext,
};

use mcp_ephemeral_k8s::sync::lock;

use super::TestServer;

impl ServerHandler for TestServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_prompts()
            .enable_logging()
            .enable_completions()
            .build();
        ServerConfig::new(capabilities).with_server_info(rmcp::model::Implementation::new(
            "mcp-test-server",
            env!("CARGO_PKG_VERSION"),
        ))
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(
            &ProtocolVersion::LATEST_WITH_INITIALIZE,
        ))
    }

    async fn list_tools(
        &self,
        _params: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let mut tools = self.tools.list_all();
        for name in lock(&self.extra_tools).iter() {
            // Words of their own, so a search has a vocabulary to index.
            let description = format!(
                "An added tool; echoes its name. {name} reads writes lists searches \
                 converts fetches {name}_records {name}_files and {name}_entries"
            );
            tools.push(Tool::new(
                name.clone(),
                description,
                Arc::new(Default::default()),
            ));
        }
        Ok(ListToolsResult::with_all_items(tools))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.get(name).cloned()
    }

    async fn call_tool(
        &self,
        params: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if lock(&self.extra_tools).iter().any(|t| *t == params.name) {
            return Ok(
                CallToolResult::success(vec![ContentBlock::text(params.name.to_string())]).into(),
            );
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
        let resources = vec![
            Resource::new("test://greeting", "greeting"),
            Resource::new("test://blob", "blob"),
        ];
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _params: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new("test://items/{id}", "item"),
        ]))
    }

    async fn read_resource(
        &self,
        params: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = params.uri.as_str();
        let contents = match uri {
            "test://greeting" => ResourceContents::text("hello", uri),
            "test://blob" => {
                let bytes: Vec<u8> = (0..=255).collect();
                ResourceContents::blob(BASE64.encode(bytes), uri)
            }
            _ => match uri.strip_prefix("test://items/") {
                Some(id) => ResourceContents::text(format!("item {id}"), uri),
                None => {
                    return Err(McpError::resource_not_found(
                        format!("no resource {uri}"),
                        None,
                    ));
                }
            },
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn subscribe(
        &self,
        params: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let mut state = mcp_ephemeral_k8s::sync::lock(&self.state);
        if !state.subscribed.contains(&params.uri) {
            state.subscribed.push(params.uri);
        }
        Ok(())
    }

    async fn unsubscribe(
        &self,
        params: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        mcp_ephemeral_k8s::sync::lock(&self.state)
            .subscribed
            .retain(|uri| *uri != params.uri);
        Ok(())
    }

    async fn set_level(
        &self,
        params: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        mcp_ephemeral_k8s::sync::lock(&self.state).level = Some(params.level);
        Ok(())
    }

    async fn list_prompts(
        &self,
        _params: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let name = PromptArgument::new("name");
        Ok(ListPromptsResult::with_all_items(vec![Prompt::new(
            "greet",
            Some("Greet someone"),
            Some(vec![name]),
        )]))
    }

    async fn get_prompt(
        &self,
        params: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let who = params
            .arguments
            .as_ref()
            .and_then(|a| a.get("name"))
            .and_then(|v| v.as_str())
            .unwrap_or("world")
            .to_owned();
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            format!("Say hello to {who}"),
        )])
        .into())
    }

    async fn complete(
        &self,
        params: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let values = ["alice", "bob", "carol"]
            .iter()
            .filter(|v| v.starts_with(&params.argument.value))
            .map(|v| v.to_string())
            .collect();
        let info = CompletionInfo::new(values).map_err(|e| McpError::internal_error(e, None))?;
        Ok(CompleteResult::new(info))
    }
}
