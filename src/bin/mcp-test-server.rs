//! A tiny stdio MCP server for the tests and benchmarks, and to try the daemon offline:
//! `create_mcp_server(runtime_exec="/path/to/mcp-test-server", runtime_mcp="serve")`.
//!
//! Run with `mcp-test-server serve [--fail-init MSG] [--delay-ms N] [args…]`. Tools:
//! `echo`, `add`, `slow` (progress, cancellable), `env`, `args`, `fail`, `exit`; resource
//! `test://greeting`; prompt `greet`. `--fail-init` writes MSG to stderr and exits 3
//! before answering anything; `--delay-ms` waits before serving (a slow install).

use std::{borrow::Cow, time::Duration};

use rmcp::{
    ErrorData as McpError, Json, RoleServer, ServerHandler, ServiceExt,
    handler::server::{router::tool::ToolRouter, tool::ToolCallContext, wrapper::Parameters},
    model::{
        CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
        GetPromptResult, ListPromptsResult, ListResourcesResult, ListToolsResult,
        PaginatedRequestParams, ProgressNotificationParam, Prompt, PromptArgument, PromptMessage,
        ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
        Resource, ResourceContents, Role, ServerCapabilities, ServerConfig, Tool,
    },
    schemars::{self, JsonSchema},
    service::RequestContext,
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, JsonSchema)]
struct Text {
    /// The text to echo back.
    text: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Pair {
    /// First addend.
    a: i64,
    /// Second addend.
    b: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
struct Sum {
    /// a + b.
    sum: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Slow {
    /// Milliseconds to take in all.
    millis: u64,
    /// Progress notifications to send on the way.
    #[serde(default)]
    steps: u32,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Name {
    /// An environment variable name.
    name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Code {
    /// The exit code.
    #[serde(default)]
    code: i32,
}

struct TestServer {
    tools: ToolRouter<Self>,
}

#[tool_router]
impl TestServer {
    #[tool(description = "Echo the text back")]
    async fn echo(&self, Parameters(Text { text }): Parameters<Text>) -> String {
        text
    }

    #[tool(description = "Add two integers")]
    async fn add(&self, Parameters(Pair { a, b }): Parameters<Pair>) -> Json<Sum> {
        Json(Sum { sum: a + b })
    }

    #[tool(
        description = "Take `millis` ms, sending `steps` progress notifications; stops when cancelled"
    )]
    async fn slow(
        &self,
        Parameters(slow): Parameters<Slow>,
        context: RequestContext<RoleServer>,
    ) -> String {
        let steps = slow.steps.max(1);
        let pause = Duration::from_millis(slow.millis / u64::from(steps));
        let token = context.meta.get_progress_token();
        for step in 1..=steps {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = context.ct.cancelled() => return "cancelled".into(),
            }
            if let (Some(token), true) = (&token, slow.steps > 0) {
                let mut params = ProgressNotificationParam::new(token.clone(), f64::from(step));
                params.total = Some(f64::from(steps));
                params.message = Some(format!("step {step} of {steps}"));
                let _ = context.peer.notify_progress(params).await;
            }
        }
        format!("done after {} ms", slow.millis)
    }

    #[tool(description = "The value of an environment variable")]
    async fn env(&self, Parameters(Name { name }): Parameters<Name>) -> Result<String, String> {
        std::env::var(&name).map_err(|_| format!("{name} is not set"))
    }

    #[tool(description = "The command-line arguments after `serve`, as a JSON array")]
    async fn args(&self) -> String {
        serde_json::to_string(&std::env::args().skip(2).collect::<Vec<_>>()).unwrap_or_default()
    }

    #[tool(description = "Fail with the given text")]
    async fn fail(&self, Parameters(Text { text }): Parameters<Text>) -> Result<String, String> {
        Err(text)
    }

    #[tool(description = "Exit the process with `code` (simulates a crash)")]
    async fn exit(&self, Parameters(Code { code }): Parameters<Code>) -> String {
        std::process::exit(code)
    }
}

impl ServerHandler for TestServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_prompts()
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
        self.tools
            .call(ToolCallContext::new(self, params, context))
            .await
    }

    async fn list_resources(
        &self,
        _params: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(vec![Resource::new(
            "test://greeting",
            "greeting",
        )]))
    }

    async fn read_resource(
        &self,
        params: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        if params.uri != "test://greeting" {
            return Err(McpError::resource_not_found(
                format!("no resource {}", params.uri),
                None,
            ));
        }
        Ok(
            ReadResourceResult::new(vec![ResourceContents::text("hello", "test://greeting")])
                .into(),
        )
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
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    if let Some(message) = flag("--fail-init") {
        eprintln!("{message}");
        std::process::exit(3);
    }
    if let Some(delay) = flag("--delay-ms").and_then(|d| d.parse().ok()) {
        eprintln!("installing (pretend) for {delay} ms");
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    eprintln!("mcp-test-server ready on stdio");
    let server = TestServer {
        tools: TestServer::tool_router(),
    };
    match server.serve(rmcp::transport::stdio()).await {
        Ok(running) => {
            let _ = running.waiting().await;
        }
        Err(e) => {
            eprintln!("initialize failed: {e}");
            std::process::exit(2);
        }
    }
}
