//! `mcp-test-server serve-modern [--port N]`: a server of MCP 2026-07-28 only, on streamable
//! HTTP at `http://127.0.0.1:N/mcp` (printed on stdout once it listens), stateless, with
//! no `initialize` and every request's `_meta` required. Its tools: `echo`, and `ask`,
//! which asks its client to sample a reply to `text` the 2026-07-28 way (an
//! `input_required` result, then the retry with the answer; `flood: N` asks N questions at
//! once) and returns that reply; `slow`,
//! which takes `millis` ms with `steps` progress notifications and stops when cancelled
//! (`cancelled` counts those); it tells list changes on `subscriptions/listen`
//! (`add_tool` adds a tool).

use std::{
    borrow::Cow,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
        CreateMessageRequest, CreateMessageRequestParams, CreateMessageResult, InputRequest,
        InputRequests, InputRequiredResult, ListToolsResult, PaginatedRequestParams,
        ProgressNotificationParam, ProtocolVersion, SamplingMessage, ServerCapabilities,
        ServerConfig, SubscriptionFilter, Tool,
    },
    service::{RequestContext, SubscriptionContext},
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};
use serde_json::json;
use tokio::sync::broadcast;

/// The state `ask` gives its client to hand back.
const ASK_STATE: &str = "asked";

#[derive(Clone)]
struct ModernServer {
    /// Tools added by `add_tool`.
    added: Arc<Mutex<Vec<String>>>,
    /// How many `slow` calls were cancelled.
    cancelled: Arc<AtomicU32>,
    /// Told when a tool is added, for the listen streams.
    changed: broadcast::Sender<()>,
}

fn tool(name: &str, description: &str) -> Tool {
    let schema = json!({"type": "object", "properties": {"text": {"type": "string"}}});
    let serde_json::Value::Object(schema) = schema else {
        unreachable!("an object")
    };
    Tool::new(name.to_owned(), description.to_owned(), Arc::new(schema))
}

fn text_result(text: String) -> CallToolResponse {
    CallToolResult::success(vec![ContentBlock::text(text)]).into()
}

impl ModernServer {
    async fn slow(&self, millis: u64, steps: u64, context: &RequestContext<RoleServer>) -> String {
        let token = context.meta.get_progress_token();
        for step in 1..=steps {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(millis / steps)) => {}
                () = context.ct.cancelled() => {
                    self.cancelled.fetch_add(1, Ordering::SeqCst);
                    return "cancelled".into();
                }
            }
            if let Some(token) = &token {
                let mut progress = ProgressNotificationParam::new(token.clone(), step as f64);
                progress.message = Some(format!("step {step} of {steps}"));
                let _ = context.peer.notify_progress(progress).await;
            }
        }
        format!("done after {millis} ms")
    }
}

impl ServerHandler for ModernServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .build();
        ServerConfig::new(capabilities).with_server_info(rmcp::model::Implementation::new(
            "mcp-test-server-modern",
            env!("CARGO_PKG_VERSION"),
        ))
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Owned(vec![ProtocolVersion::V_2026_07_28])
    }

    async fn list_tools(
        &self,
        _params: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let mut tools = vec![
            tool("echo", "Echo the text back"),
            tool(
                "ask",
                "Ask the client to sample a reply to `text`; returns the reply",
            ),
            tool(
                "add_tool",
                "Add a tool called `text` and tell the listen streams",
            ),
            tool(
                "slow",
                "Take `millis` ms with `steps` progress notifications",
            ),
            tool("cancelled", "How many `slow` calls were cancelled"),
        ];
        let added = self.added.lock().map(|a| a.clone()).unwrap_or_default();
        tools.extend(added.iter().map(|name| tool(name, "An added tool")));
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        params: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let text = params
            .arguments
            .as_ref()
            .and_then(|a| a.get("text"))
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_owned();
        let number = |name: &str| {
            let arguments = params.arguments.as_ref();
            arguments
                .and_then(|a| a.get(name))
                .and_then(serde_json::Value::as_u64)
        };
        match params.name.as_ref() {
            "echo" => Ok(text_result(text)),
            "slow" => {
                let millis = number("millis").unwrap_or(0);
                let steps = number("steps").unwrap_or(1).max(1);
                Ok(text_result(self.slow(millis, steps, &context).await))
            }
            "cancelled" => Ok(text_result(
                self.cancelled.load(Ordering::SeqCst).to_string(),
            )),
            "add_tool" => {
                if let Ok(mut added) = self.added.lock() {
                    added.push(text.clone());
                }
                let _ = self.changed.send(());
                Ok(text_result(format!("added {text}")))
            }
            "ask" => match (&params.request_state, &params.input_responses) {
                (Some(state), Some(responses)) if state == ASK_STATE => {
                    let answer = responses
                        .get("reply")
                        .cloned()
                        .and_then(|v| serde_json::from_value::<CreateMessageResult>(v).ok())
                        .and_then(|r| r.message.content.first()?.as_text().map(|t| t.text.clone()))
                        .ok_or_else(|| McpError::invalid_params("no reply to sample", None))?;
                    Ok(text_result(format!("modern got: {answer}")))
                }
                _ => {
                    let sample = CreateMessageRequestParams::new(
                        vec![SamplingMessage::user_text(text)],
                        100,
                    );
                    let request = InputRequest::CreateMessage(CreateMessageRequest::new(sample));
                    // `flood`: that many questions at once (a hostile server).
                    let mut requests = InputRequests::new();
                    requests.insert("reply".to_owned(), request.clone());
                    for n in 1..number("flood").unwrap_or(0) {
                        requests.insert(format!("extra-{n}"), request.clone());
                    }
                    Ok(CallToolResponse::InputRequired(InputRequiredResult::new(
                        Some(requests),
                        Some(ASK_STATE.to_owned()),
                    )))
                }
            },
            other => {
                let added = self.added.lock().map(|a| a.contains(&other.to_owned()));
                if added.unwrap_or(false) {
                    Ok(text_result(other.to_owned()))
                } else {
                    Err(McpError::invalid_params(format!("no tool {other}"), None))
                }
            }
        }
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    async fn listen(&self, subscription: SubscriptionContext) -> Result<(), McpError> {
        let mut changed = self.changed.subscribe();
        loop {
            tokio::select! {
                () = subscription.cancelled() => return Ok(()),
                next = changed.recv() => {
                    if next.is_err() || subscription.sink().notify_tool_list_changed().await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Serves until killed.
pub async fn serve(port: u16) {
    let server = ModernServer {
        added: Arc::default(),
        cancelled: Arc::default(),
        changed: broadcast::channel(16).0,
    };
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_stateless_protocol_metadata_required(true);
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on port {port}: {e}");
            std::process::exit(2);
        }
    };
    if let Ok(addr) = listener.local_addr() {
        println!("listening on http://{addr}/mcp");
    }
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("serving failed: {e}");
        std::process::exit(2);
    }
}
