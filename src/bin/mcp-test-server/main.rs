//! A tiny stdio MCP server for the tests and benchmarks, and to try the daemon offline:
//! `create_mcp_server(runtime_exec="/path/to/mcp-test-server", runtime_mcp="serve")`.
//!
//! Run with `mcp-test-server serve [--fail-init MSG] [--delay-ms N] [--extra-tool NAME] [args…]`.
//! Tools: `echo`, `add`, `slow` (progress, cancellable), `cancelled` (how many `slow` calls
//! were cancelled), `env`, `environment`, `read_file`, `eprint`, `flood_stderr`, `log_flood`, `big_answer`, `args`, `fail`, `exit`, `sample` (asks the client to sample),
//! `roots` (asks the client for its roots), `log` (sends a log message), `touch` (sends
//! `resources/updated`), `add_tool` (adds a tool and sends `tools/list_changed`).
//! Resources `test://greeting` (text) and `test://blob` (bytes 0..=255); template
//! `test://items/{id}`; prompt `greet` with completions for its `name`. `--fail-init`
//! writes MSG to stderr and exits 3 before answering anything; `--delay-ms` waits before
//! serving (a slow install); `--extra-tool` starts with one more tool of that name.
//! `mcp-test-server serve-modern [--port N]` is a server of MCP 2026-07-28 only, on
//! streamable HTTP (see `modern`).

#![expect(
    deprecated,
    reason = "sampling, roots and logging are part of the versions under test"
)]

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use rmcp::{
    Json, RoleServer, ServiceExt,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{
        CreateMessageRequestParams, LoggingLevel, LoggingMessageNotificationParam,
        ProgressNotificationParam, ResourceUpdatedNotificationParam, SamplingMessage,
    },
    schemars::{self, JsonSchema},
    service::RequestContext,
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

mod handler;
mod modern;

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
struct Count {
    /// How many bytes.
    count: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Path {
    /// A file's path.
    path: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Code {
    /// The exit code.
    #[serde(default)]
    code: i32,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Uri {
    /// A resource URI.
    uri: String,
}

struct TestServer {
    tools: ToolRouter<Self>,
    /// Tools added at run time (`add_tool`, `--extra-tool`); they echo their name.
    extra_tools: Mutex<Vec<String>>,
    /// How many `slow` calls were cancelled.
    cancelled: AtomicU32,
    /// What clients set up: the log level asked for and the subscribed URIs (`state`).
    state: Mutex<ClientState>,
}

/// What the client set up on this server's session.
#[derive(Debug, Default, Serialize)]
struct ClientState {
    level: Option<LoggingLevel>,
    subscribed: Vec<String>,
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
                () = context.ct.cancelled() => {
                    self.cancelled.fetch_add(1, Ordering::SeqCst);
                    return "cancelled".into();
                }
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

    #[tool(description = "How many `slow` calls were cancelled so far")]
    async fn cancelled(&self) -> String {
        self.cancelled.load(Ordering::SeqCst).to_string()
    }

    #[tool(description = "Ask the client to sample a reply to `text`; returns the reply")]
    async fn sample(
        &self,
        Parameters(Text { text }): Parameters<Text>,
        context: RequestContext<RoleServer>,
    ) -> Result<String, String> {
        let params = CreateMessageRequestParams::new(vec![SamplingMessage::user_text(text)], 100);
        let result = context
            .peer
            .create_message(params)
            .await
            .map_err(|e| e.to_string())?;
        let reply = result
            .message
            .content
            .first()
            .and_then(|c| c.as_text())
            .map(|t| t.text.clone());
        reply.ok_or_else(|| "the sample had no text".to_owned())
    }

    #[tool(description = "Ask the client for its roots; returns their URIs as a JSON array")]
    async fn roots(&self, context: RequestContext<RoleServer>) -> Result<String, String> {
        let roots = context.peer.list_roots().await.map_err(|e| e.to_string())?;
        let uris: Vec<String> = roots.roots.into_iter().map(|r| r.uri).collect();
        Ok(serde_json::to_string(&uris).unwrap_or_default())
    }

    #[tool(description = "Send `text` as an info log message")]
    async fn log(
        &self,
        Parameters(Text { text }): Parameters<Text>,
        context: RequestContext<RoleServer>,
    ) -> String {
        let params = LoggingMessageNotificationParam::new(LoggingLevel::Info, text.into())
            .with_logger("test");
        let _ = context.peer.notify_logging_message(params).await;
        "logged".into()
    }

    #[tool(description = "Send `text` as an info log message `millis` ms after answering")]
    async fn log_later(
        &self,
        Parameters(slow): Parameters<Slow>,
        context: RequestContext<RoleServer>,
    ) -> String {
        let peer = context.peer.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(slow.millis)).await;
            let params = LoggingMessageNotificationParam::new(LoggingLevel::Info, "later".into())
                .with_logger("test");
            let _ = peer.notify_logging_message(params).await;
        });
        "will log".into()
    }

    #[tool(description = "What the client set up: the log level and the subscriptions, as JSON")]
    async fn state(&self) -> String {
        let state = mcp_ephemeral_k8s::sync::lock(&self.state);
        serde_json::to_string(&*state).unwrap_or_default()
    }

    #[tool(
        description = "Send `count` info log messages (`{\"n\": 0, \"pad\": …}`, `{\"n\": 1, …}`, … with 1 KiB of padding) as fast as it can"
    )]
    async fn log_flood(
        &self,
        Parameters(Count { count }): Parameters<Count>,
        context: RequestContext<RoleServer>,
    ) -> String {
        let pad = "x".repeat(1024);
        for n in 0..count {
            let data = serde_json::json!({"n": n, "pad": pad});
            let params =
                LoggingMessageNotificationParam::new(LoggingLevel::Info, data).with_logger("flood");
            if context.peer.notify_logging_message(params).await.is_err() {
                break;
            }
        }
        format!("sent {count}")
    }

    #[tool(description = "Send resources/updated for `uri`")]
    async fn touch(
        &self,
        Parameters(Uri { uri }): Parameters<Uri>,
        context: RequestContext<RoleServer>,
    ) -> String {
        let _ = context
            .peer
            .notify_resource_updated(ResourceUpdatedNotificationParam::new(uri))
            .await;
        "touched".into()
    }

    #[tool(description = "Add a tool called `text` and send tools/list_changed")]
    async fn add_tool(
        &self,
        Parameters(Text { text }): Parameters<Text>,
        context: RequestContext<RoleServer>,
    ) -> String {
        mcp_ephemeral_k8s::sync::lock(&self.extra_tools).push(text);
        let _ = context.peer.notify_tool_list_changed().await;
        "added".into()
    }

    #[tool(description = "The value of an environment variable")]
    async fn env(&self, Parameters(Name { name }): Parameters<Name>) -> Result<String, String> {
        std::env::var(&name).map_err(|_| format!("{name} is not set"))
    }

    #[tool(description = "The contents of a file (what a sandboxed child can read)")]
    async fn read_file(
        &self,
        Parameters(Path { path }): Parameters<Path>,
    ) -> Result<String, String> {
        std::fs::read(&path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(|e| format!("cannot read {path}: {e}"))
    }

    #[tool(description = "Write a line to stderr")]
    async fn eprint(&self, Parameters(Text { text }): Parameters<Text>) -> String {
        eprintln!("{text}");
        "written".into()
    }

    #[tool(description = "Write one stderr line of `count` bytes, without holding it")]
    async fn flood_stderr(&self, Parameters(Count { count }): Parameters<Count>) -> String {
        use std::io::Write;
        let chunk = vec![b'x'; 1 << 20];
        let mut stderr = std::io::stderr().lock();
        let mut left = count;
        while left > 0 {
            let n = left.min(chunk.len());
            if stderr.write_all(&chunk[..n]).is_err() {
                break;
            }
            left -= n;
        }
        let _ = stderr.write_all(b"\n");
        format!("wrote {count} bytes")
    }

    #[tool(description = "Answer with a text of `count` bytes")]
    async fn big_answer(&self, Parameters(Count { count }): Parameters<Count>) -> String {
        "x".repeat(count)
    }

    #[tool(description = "The whole environment, as a JSON object")]
    async fn environment(&self) -> String {
        let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
        serde_json::to_string(&env).unwrap_or_default()
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

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    if args.first().map(String::as_str) == Some("serve-modern") {
        let port = flag("--port").and_then(|p| p.parse().ok()).unwrap_or(0);
        modern::serve(port).await;
        return;
    }
    if let Some(message) = flag("--fail-init") {
        eprintln!("{message}");
        std::process::exit(3);
    }
    if let Some(delay) = flag("--delay-ms").and_then(|d| d.parse().ok()) {
        eprintln!("installing (pretend) for {delay} ms");
        tokio::time::sleep(Duration::from_millis(delay)).await;
        // As uv says it.
        eprintln!("Installed 3 packages in {delay}ms");
    }
    eprintln!("mcp-test-server ready on stdio");
    let server = TestServer {
        tools: TestServer::tool_router(),
        extra_tools: Mutex::new(extra_tools(flag("--extra-tool"), flag("--many-tools"))),
        cancelled: AtomicU32::new(0),
        state: Mutex::default(),
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

/// The tools added at start: `--extra-tool NAME`, and `--many-tools N` more (`many_0`…),
/// for what a huge tool list does to whoever mounts the server.
fn extra_tools(one: Option<&String>, many: Option<&String>) -> Vec<String> {
    let count: usize = many.and_then(|n| n.parse().ok()).unwrap_or(0);
    let many = (0..count).map(|i| format!("many_{i}"));
    one.cloned().into_iter().chain(many).collect()
}
