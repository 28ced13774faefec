//! Starting the daemon and the bridge, and MCP clients to talk to them.

#![allow(dead_code, reason = "each test module uses a different part")]

mod recorder;

use std::{
    net::SocketAddr,
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use rmcp::{
    Peer, RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult, ProtocolVersion},
    service::RunningService,
    transport::StreamableHttpClientTransport,
};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

pub use recorder::Recorder;

/// The daemon binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_mcp-ephemeral-k8s");

/// The repo's stdio MCP server for hermetic tests.
pub const TEST_SERVER: &str = env!("CARGO_BIN_EXE_mcp-test-server");

/// `--allow-runtime` of test daemons: the defaults and the test server.
const ALLOWED_RUNTIMES: &str = concat!("uvx,npx,", env!("CARGO_BIN_EXE_mcp-test-server"));

/// Daemon flags that let URL mounts reach servers on loopback (tests run them there).
pub const LOOPBACK_URL_MOUNTS: [&str; 4] = [
    "--allow-mount-url",
    "http://127.0.0.1:*",
    "--allow-mount-network",
    "127.0.0.0/8",
];

/// The token of principal `alice` in the tests' tokens files.
pub const ALICE: &str = "alice-token-0123456789abcdef";

/// The token of principal `bob` in the tests' tokens files.
pub const BOB: &str = "bob-token-0123456789abcdef01";

/// How long a test waits for something that should take milliseconds.
pub const QUICK: Duration = Duration::from_secs(20);

/// A running daemon (or bridge) process, killed when dropped.
pub struct Process {
    pub child: Child,
    pub addr: SocketAddr,
    /// Every stderr line so far.
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Starts `mcp-ephemeral-k8s serve --port 0 --log-format json <extra…>` and waits for it
    /// to listen.
    pub async fn daemon(extra: &[&str]) -> Self {
        Self::daemon_with_env(extra, &[]).await
    }

    /// [`Self::daemon`] with the variables `env`.
    pub async fn daemon_with_env(extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_with_env(&daemon_args(extra), env).await
    }

    /// Starts the binary with `args` and waits for its "listening" log line.
    pub async fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[]).await
    }

    /// Starts the binary with `args` and the variables `env`, and waits for its
    /// "listening" log line.
    pub async fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BIN);
        command.args(args).envs(env.iter().copied());
        Self::spawn(command).await
    }

    /// Starts `node tests/servers/<script> 0`, an MCP server written with the TypeScript
    /// SDK, and waits for it to listen. `scripts/test` installs its packages.
    pub async fn node_server(script: &str) -> Self {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers");
        assert!(
            dir.join("node_modules/@modelcontextprotocol/sdk").is_dir(),
            "tests/servers has no packages: run scripts/test (it runs npm ci there)"
        );
        let mut command = Command::new("node");
        command.arg(dir.join(script)).arg("0");
        Self::spawn(command).await
    }

    /// [`Self::daemon`] started with a soft limit of `files` open files (the daemon may
    /// raise it to its hard limit).
    pub async fn daemon_with_open_files(extra: &[&str], files: u64) -> Self {
        let mut command = Command::new(BIN);
        command.args(daemon_args(extra));
        // SAFETY: setrlimit is async-signal-safe; it runs between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let mut limit = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
                limit.rlim_cur = files.min(limit.rlim_max);
                libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
                Ok(())
            });
        }
        Self::spawn(command).await
    }

    /// Spawns `command` (the binary) and waits for its "listening" log line.
    async fn spawn(mut command: Command) -> Self {
        // Tests build reqwest clients of their own, which need the rustls provider.
        mcp_ephemeral_k8s::tls::install_crypto_provider();
        let mut child = command
            .env("MCP_EPHEMERAL_K8S_LOG", "info,mcp_ephemeral_k8s=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        tokio::spawn(async move {
            let mut addr_tx = Some(addr_tx);
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = listening_addr(&line) {
                    if let Some(tx) = addr_tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match tokio::time::timeout(QUICK, addr_rx).await {
            Ok(Ok(addr)) => addr,
            _ => panic!("no listening line; logs: {:#?}", logs.lock().unwrap()),
        };
        Self { child, addr, logs }
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Sends SIGTERM and waits for the exit.
    pub async fn stop(mut self) -> ExitStatus {
        signal(self.pid(), libc::SIGTERM);
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("exits after SIGTERM")
            .unwrap()
    }

    /// Kills it (SIGKILL) and waits until it is gone, so its port is free.
    pub async fn kill(mut self) {
        signal(self.pid(), libc::SIGKILL);
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
    }

    /// The stderr so far, one line each.
    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
}

/// `serve` on a free port with JSON logs, the test server allowed, and `extra`.
fn daemon_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "serve",
        "--backend",
        "local",
        "--port",
        "0",
        "--log-format",
        "json",
        // The test server is a runtime of its own.
        "--allow-runtime",
        ALLOWED_RUNTIMES,
    ];
    args.extend_from_slice(extra);
    args
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    let value: Value = serde_json::from_str(line).ok()?;
    let fields = value.get("fields")?;
    if !fields.get("message")?.as_str()?.starts_with("listening")
        && !fields
            .get("message")?
            .as_str()?
            .starts_with("bridge listening")
    {
        return None;
    }
    fields.get("addr")?.as_str()?.parse().ok()
}

pub fn signal(pid: u32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid as i32, signal) };
}

/// A client on `/mcp` (streamable HTTP) speaking `version`.
pub async fn http_client_with(
    url: &str,
    version: ProtocolVersion,
) -> RunningService<RoleClient, Recorder> {
    let transport = StreamableHttpClientTransport::from_uri(url.to_owned());
    Recorder::new(version)
        .serve(transport)
        .await
        .expect("initialize over streamable HTTP")
}

/// A 2025-11-25 client on `/mcp`.
pub async fn http_client(url: &str) -> RunningService<RoleClient, Recorder> {
    http_client_with(url, ProtocolVersion::V_2025_11_25).await
}

/// A 2025-11-25 client on `/mcp` presenting bearer `token`.
pub async fn http_client_as(url: &str, token: &str) -> RunningService<RoleClient, Recorder> {
    let config =
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(url)
            .auth_header(token);
    let transport = StreamableHttpClientTransport::from_config(config);
    Recorder::new(ProtocolVersion::V_2025_11_25)
        .serve(transport)
        .await
        .expect("initialize over streamable HTTP with a token")
}

/// A 2024-11-05 client on legacy SSE.
pub async fn sse_client(url: &str) -> RunningService<RoleClient, Recorder> {
    sse_client_with(url, http::HeaderMap::new()).await
}

/// A 2024-11-05 client on legacy SSE sending `headers` on every request.
pub async fn sse_client_with(
    url: &str,
    headers: http::HeaderMap,
) -> RunningService<RoleClient, Recorder> {
    mcp_ephemeral_k8s::tls::install_crypto_provider();
    let transport = mcp_ephemeral_k8s::sse::client::SseClientTransport::connect_with(
        reqwest::Client::new(),
        url,
        headers,
    )
    .await
    .expect("legacy SSE stream opens");
    Recorder::new(ProtocolVersion::V_2024_11_05)
        .serve(transport)
        .await
        .expect("initialize over SSE")
}

/// A client of a child itself (`server`: a `create_mcp_server` result), over streamable
/// HTTP or legacy SSE, presenting the child's own token.
pub async fn child_client(server: &Value, sse: bool) -> RunningService<RoleClient, Recorder> {
    let authorization = server["authorization"]
        .as_str()
        .expect("the owner gets the token");
    if !sse {
        let token = authorization.trim_start_matches("Bearer ");
        return http_client_as(server["url"].as_str().unwrap(), token).await;
    }
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, authorization.parse().unwrap());
    sse_client_with(server["sse_url"].as_str().unwrap(), headers).await
}

/// Calls a tool and returns its result (tool errors included).
pub async fn call(peer: &Peer<RoleClient>, name: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    let params = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
    peer.call_tool(params)
        .await
        .unwrap_or_else(|e| panic!("{name} failed at the protocol level: {e}"))
}

/// Calls a tool that must succeed and returns its structured content.
pub async fn call_ok(peer: &Peer<RoleClient>, name: &str, arguments: Value) -> Value {
    let result = call(peer, name, arguments).await;
    assert_ne!(
        result.is_error,
        Some(true),
        "{name} failed: {}",
        text(&result)
    );
    let fallback = Value::String(text(&result));
    result.structured_content.unwrap_or(fallback)
}

/// Calls a tool that must fail and returns its error text.
pub async fn call_err(peer: &Peer<RoleClient>, name: &str, arguments: Value) -> String {
    let result = call(peer, name, arguments).await;
    assert_eq!(
        result.is_error,
        Some(true),
        "{name} should have failed: {}",
        text(&result)
    );
    text(&result)
}

/// The text content of a result, joined.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `create_mcp_server` arguments that run the repo's test server with `args`.
pub fn test_server(args: &str) -> Value {
    serde_json::json!({ "runtime_exec": TEST_SERVER, "runtime_mcp": "serve", "runtime_args": args })
}

/// The live processes of a process group (see `process::group_members`).
pub fn group(pgid: u32) -> Vec<u32> {
    mcp_ephemeral_k8s::process::group_members(pgid)
}

/// Waits until no process of the groups is alive; panics with the survivors otherwise.
pub async fn assert_groups_gone(pgids: &[u32]) {
    let deadline = tokio::time::Instant::now() + QUICK;
    loop {
        let alive: Vec<u32> = pgids.iter().flat_map(|g| group(*g)).collect();
        if alive.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "processes left behind: {alive:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The bridge and MCP server process groups of a locally-run child, from its status.
pub fn process_groups(status: &Value) -> Vec<u32> {
    let process = &status["process"];
    [process["pid"].as_u64(), process["child_pid"].as_u64()]
        .into_iter()
        .flatten()
        .map(|p| p as u32)
        .collect()
}

/// Creates a server from `args` with `wait_for_ready`, and returns it with the process
/// groups of its bridge and MCP server (from its status).
pub async fn create_ready(meta: &Peer<RoleClient>, mut args: Value) -> (Value, Vec<u32>) {
    args["wait_for_ready"] = Value::Bool(true);
    let server = call_ok(meta, "create_mcp_server", args).await;
    let status = call_ok(
        meta,
        "get_mcp_server_status",
        serde_json::json!({"job_name": server["job_name"]}),
    )
    .await;
    (server, process_groups(&status))
}

/// The names of a server's tools.
pub async fn tool_names(peer: &Peer<RoleClient>) -> Vec<String> {
    let tools = peer.list_all_tools().await.expect("tools/list");
    tools.iter().map(|t| t.name.to_string()).collect()
}

/// Waits until `check` holds (notifications are handled concurrently with responses, so
/// the last ones may land just after the response).
pub async fn eventually(what: &str, check: impl FnMut() -> bool) {
    eventually_within(what, QUICK, check).await;
}

/// [`eventually`], allowing `within`.
pub async fn eventually_within(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A bridge on a free loopback port serving the test server with `args` (its flags).
pub async fn test_bridge(args: &[&str]) -> Process {
    test_bridge_on("0", args).await
}

/// A bridge on loopback port `port` serving the test server with `args` (its flags).
pub async fn test_bridge_on(port: &str, args: &[&str]) -> Process {
    test_bridge_with_env(port, args, &[]).await
}

/// Kills bridge `first` and starts another on its port with `args`: the server restarted,
/// with a fresh state.
pub async fn restart_bridge(first: Process, args: &[&str]) -> Process {
    let port = first.addr.port().to_string();
    first.kill().await;
    test_bridge_on(&port, args).await
}

/// [`test_bridge_on`] with `env` added to the bridge's environment.
pub async fn test_bridge_with_env(port: &str, args: &[&str], env: &[(&str, &str)]) -> Process {
    let mut argv = vec![
        "--log-format",
        "json",
        "bridge",
        "--host",
        "127.0.0.1",
        "--port",
        port,
        "--",
        TEST_SERVER,
        "serve",
    ];
    argv.extend_from_slice(args);
    Process::start_with_env(&argv, env).await
}

/// Waits until `url` answers 200 (a bridge finished starting its server).
pub async fn wait_healthy(url: &str) {
    let deadline = tokio::time::Instant::now() + QUICK;
    loop {
        if reqwest::get(url).await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} never answered 200"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client of `process` over legacy SSE (`/sse`) or streamable HTTP (`/mcp`).
pub async fn client_of(
    process_url: impl Fn(&str) -> String,
    sse: bool,
) -> RunningService<RoleClient, Recorder> {
    if sse {
        sse_client(&process_url("/sse")).await
    } else {
        http_client(&process_url("/mcp")).await
    }
}

/// A daemon with the test server (started with `args`) created and mounted as `t`, a
/// client of it, and the `mount_mcp_server` result.
pub async fn daemon_with_mounted_child(
    args: &str,
) -> (Process, RunningService<RoleClient, Recorder>, Value) {
    let daemon = Process::daemon(&[]).await;
    let meta = http_client(&daemon.url("/mcp")).await;
    let (server, _) = create_ready(&meta, test_server(args)).await;
    let mount = serde_json::json!({"job_name": server["job_name"], "name": "t"});
    let mounted = call_ok(&meta, "mount_mcp_server", mount).await;
    (daemon, meta, mounted)
}

/// A temporary file, removed on drop.
pub struct TempFile(std::path::PathBuf);

impl TempFile {
    /// A new file holding `contents`.
    pub fn with(contents: &str) -> Self {
        Self::with_in(&std::env::temp_dir(), contents)
    }

    /// A new file in `dir` holding `contents`.
    pub fn with_in(dir: &std::path::Path, contents: &str) -> Self {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let path = dir.join(format!("mcp-ephemeral-k8s-it-{unique}"));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }

    /// Its path, for a flag.
    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A `POST /mcp` initialize with optional extra headers; returns the status and headers.
pub async fn post_initialize(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}});
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// The mounts, from the `config://mounts` resource.
pub async fn mounts(meta: &Peer<RoleClient>) -> Vec<Value> {
    let read = meta
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "config://mounts",
        ))
        .await
        .unwrap();
    let rmcp::model::ResourceContents::TextResourceContents { text, .. } = &read.contents[0] else {
        panic!("config://mounts is text")
    };
    serde_json::from_str(text).unwrap()
}

/// Processes whose command line contains `marker` (to find children of a failed create).
pub fn processes_with(marker: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(marker))
                .unwrap_or(false)
        })
        .filter(|pid| {
            !crate::support::group(*pid).is_empty()
                || std::fs::metadata(format!("/proc/{pid}")).is_ok()
        })
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            !stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .collect()
}
