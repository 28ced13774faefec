//! Measures the daemon and the bridge: idle memory, and `tools/call` latency (p50, p99)
//! and throughput at 1, 16 and 64 concurrent sessions over streamable HTTP, directly on a
//! bridge (the repo's test server's `echo`) and on the meta-server's own `list_mcp_servers`;
//! then the same child's `echo` called directly and through a mount, side by side; then
//! directly, through `examples/hop` (a bare HTTP proxy on the daemon's HTTP stack) and
//! through nginx (the reference reverse proxy, when installed): the floor of any HTTP hop.
//!
//! Run with `scripts/bench` (the `dist` build); it prints a Markdown table for BENCHMARKS.md.
//! Options: `--seconds N` per measurement (default 5); `--seconds 0` makes one call per
//! session, a smoke run the test suite does so the benchmark cannot silently break;
//! `--only-mounts` runs only the mount comparison and the hop floor; `--daemon-threads N` starts the daemon
//! with `--worker-threads N`.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use mcp_ephemeral_k8s::{sse::client::SseClientTransport, upstream::client_config};
use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, ClientConfig},
    service::RunningService,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

const CONCURRENCY: [usize; 3] = [1, 16, 64];

#[tokio::main]
async fn main() -> Result<()> {
    mcp_ephemeral_k8s::tls::install_crypto_provider();
    let seconds: u64 = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .map_or(Ok(5), |s| s.parse())
        .context("--seconds takes a whole number")?;
    let duration = Duration::from_secs(seconds);
    // `--only-mounts`: just the mount overhead table (for quick comparisons).
    let only_mounts = std::env::args().any(|a| a == "--only-mounts");
    // `--daemon-threads N`: the daemon's `--worker-threads` (default 0, one per core).
    let daemon_threads = std::env::args()
        .skip_while(|a| a != "--daemon-threads")
        .nth(1)
        .unwrap_or_else(|| "0".to_owned());
    let bin_dir = binaries_dir()?;
    let daemon_bin = bin_dir.join("mcp-ephemeral-k8s");
    let test_server = bin_dir.join("mcp-test-server");

    let test_server_path = test_server.to_string_lossy().into_owned();
    // The mount benchmark creates children running the test server: allow its path.
    let allowed_runtimes = format!("uvx,npx,{test_server_path}");
    let (mut daemon, daemon_addr) = start(
        &daemon_bin,
        &[
            "--log-format",
            "json",
            "serve",
            "--port",
            "0",
            "--allow-runtime",
            &allowed_runtimes,
            "--worker-threads",
            &daemon_threads,
            // Every load opens sessions of its own and leaves them to expire.
            "--max-sessions",
            "100000",
            "--max-sessions-per-principal",
            "100000",
        ],
    )
    .await?;
    let bridge_args = [
        "--log-format",
        "json",
        "bridge",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--",
    ];
    let mut args: Vec<&str> = bridge_args.to_vec();
    args.extend([test_server_path.as_str(), "serve"]);
    let (mut bridge, bridge_addr) = start(&daemon_bin, &args).await?;
    wait_healthy(&format!("http://{bridge_addr}/health")).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let daemon_rss = rss_kib(daemon.id().context("daemon pid")?)?;
    let bridge_rss = rss_kib(bridge.id().context("bridge pid")?)?;

    if !only_mounts {
        println!("| target | client | sessions | calls | calls/s | p50 (ms) | p99 (ms) |");
        println!("|---|---|---:|---:|---:|---:|---:|");
        let targets = [
            (
                "bridge → test server `echo`",
                format!("http://{bridge_addr}/mcp"),
                "echo",
                json!({"text": "hello"}),
            ),
            (
                "meta-server `list_mcp_servers`",
                format!("http://{daemon_addr}/mcp"),
                "list_mcp_servers",
                json!({}),
            ),
            (
                "meta-server `list_mcp_servers`",
                format!("http://{daemon_addr}/sse#sse"),
                "list_mcp_servers",
                json!({}),
            ),
        ];
        for (label, url, tool, arguments) in &targets {
            let clients: &[(&str, bool)] = if url.ends_with("#sse") {
                &[("rmcp, legacy SSE", false)]
            } else {
                &[("raw HTTP", true), ("rmcp", false)]
            };
            for &(client, raw) in clients {
                for sessions in CONCURRENCY {
                    let stats = if raw {
                        load_raw(url, None, tool, arguments, sessions, duration).await?
                    } else {
                        load(url, None, tool, arguments, sessions, duration).await?
                    };
                    println!(
                        "| {label} | {client} | {sessions} | {} | {:.0} | {:.3} | {:.3} |",
                        stats.calls, stats.per_second, stats.p50_ms, stats.p99_ms
                    );
                }
            }
        }
        println!();
        println!("| process | idle RSS |");
        println!("|---|---:|");
        println!(
            "| daemon (`serve`, no children) | {:.1} MiB |",
            daemon_rss as f64 / 1024.0
        );
        println!(
            "| bridge (without its MCP server) | {:.1} MiB |",
            bridge_rss as f64 / 1024.0
        );
        println!(
            "| daemon after the load above | {:.1} MiB |",
            rss_kib(daemon.id().context("daemon pid")?)? as f64 / 1024.0
        );
    }
    let (child_url, mounted_cpu) = mount_overhead(
        &format!("http://{daemon_addr}/mcp"),
        &test_server_path,
        daemon.id().context("daemon pid")?,
        duration,
    )
    .await?;
    hop_floor(&bin_dir, &child_url, duration, &mounted_cpu).await?;
    let _ = daemon.kill().await;
    let _ = bridge.kill().await;
    Ok(())
}

/// Proxied calls through a mount against direct calls to the same child, side by side:
/// for each mount transport, a child (the repo's test server) created and mounted on the
/// daemon, then its `echo` called directly and as `<mount>_echo` on the meta-server; with
/// the CPU time the daemon (`daemon_pid`) spent per mounted call. Returns the URL and
/// `Authorization` value of the first child (served over streamable HTTP) and the daemon's CPU per call by sessions on
/// its mount with raw HTTP clients.
async fn mount_overhead(
    meta_url: &str,
    test_server: &str,
    daemon_pid: u32,
    duration: Duration,
) -> Result<((String, Option<String>), Vec<(usize, f64)>)> {
    let meta = client_config()
        .serve(StreamableHttpClientTransport::from_uri(meta_url.to_owned()))
        .await?;
    println!();
    println!(
        "| mount transport | client | sessions | direct calls/s | direct p50 | direct p99 | mounted calls/s | mounted p50 | mounted p99 | added p50 | throughput | daemon CPU per call |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut first_child = None;
    let mut raw_http_cpu = Vec::new();
    for (mount, transport) in [("t", "streamable-http"), ("s", "sse")] {
        let create =
            json!({"runtime_exec": test_server, "runtime_mcp": "serve", "wait_for_ready": true});
        let server = call_tool(&meta, "create_mcp_server", create).await?;
        let child_url = server["url"].as_str().context("url")?.to_owned();
        let child_auth = server["authorization"].as_str().map(str::to_owned);
        first_child.get_or_insert_with(|| (child_url.clone(), child_auth.clone()));
        let request =
            json!({"job_name": server["job_name"], "name": mount, "transport": transport});
        call_tool(&meta, "mount_mcp_server", request).await?;
        let mounted_tool = format!("{mount}_echo");
        let arguments = json!({"text": "hello"});
        for (client, raw) in [("raw HTTP", true), ("rmcp", false)] {
            for sessions in CONCURRENCY {
                let run = |url: &str, auth: Option<&str>, tool: &str| {
                    let (url, auth, tool, arguments) = (
                        url.to_owned(),
                        auth.map(str::to_owned),
                        tool.to_owned(),
                        arguments.clone(),
                    );
                    async move {
                        let auth = auth.as_deref();
                        if raw {
                            load_raw(&url, auth, &tool, &arguments, sessions, duration).await
                        } else {
                            load(&url, auth, &tool, &arguments, sessions, duration).await
                        }
                    }
                };
                let direct = run(&child_url, child_auth.as_deref(), "echo").await?;
                let (mounted, cpu_per_call) =
                    with_cpu(&[daemon_pid], run(meta_url, None, &mounted_tool)).await?;
                if raw && transport == "streamable-http" {
                    raw_http_cpu.push((sessions, cpu_per_call));
                }
                println!(
                    "| {transport} | {client} | {sessions} | {:.0} | {:.3} | {:.3} | {:.0} | {:.3} | {:.3} | {:+.3} ms | {:.2}x | {:.0} µs |",
                    direct.per_second,
                    direct.p50_ms,
                    direct.p99_ms,
                    mounted.per_second,
                    mounted.p50_ms,
                    mounted.p99_ms,
                    mounted.p50_ms - direct.p50_ms,
                    mounted.per_second / direct.per_second,
                    cpu_per_call * 1e6,
                );
            }
        }
    }
    meta.cancel().await?;
    Ok((first_child.context("no child")?, raw_http_cpu))
}

/// The floor of one HTTP hop: the child at `child_url` called directly, through
/// `examples/hop` (the daemon's HTTP stack passing bytes on, no MCP) and through nginx (a
/// reverse proxy with a keep-alive upstream pool, unbuffered, when `nginx` is installed),
/// raw HTTP clients, with the CPU time each hop spent per call; and the daemon's CPU per
/// mounted call (`mounted_cpu`, by sessions) over nginx's.
async fn hop_floor(
    bin_dir: &Path,
    (child_url, child_auth): &(String, Option<String>),
    duration: Duration,
    mounted_cpu: &[(usize, f64)],
) -> Result<()> {
    let target = child_url
        .strip_suffix("/mcp")
        .context("a child URL ends in /mcp")?;
    let (hop, hop_addr) = start(&bin_dir.join("examples").join("hop"), &[target]).await?;
    let hop_pid = hop.id().context("hop pid")?;
    let hop_url = format!("http://{hop_addr}/mcp");
    let nginx = Nginx::start(target).await?;
    let arguments = json!({"text": "hello"});
    println!();
    println!(
        "| sessions | direct calls/s | direct p50 | hop calls/s | hop p50 | hop CPU per call | nginx calls/s | nginx p50 | nginx CPU per call | daemon mounted CPU / nginx CPU |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for sessions in CONCURRENCY {
        let auth = child_auth.as_deref();
        let direct = load_raw(child_url, auth, "echo", &arguments, sessions, duration).await?;
        let hopped = load_raw(&hop_url, auth, "echo", &arguments, sessions, duration);
        let (hopped, hop_cpu) = with_cpu(&[hop_pid], hopped).await?;
        let (nginx_cells, ratio) = match &nginx {
            Some(nginx) => {
                let proxied = load_raw(&nginx.url, auth, "echo", &arguments, sessions, duration);
                let (proxied, nginx_cpu) = with_cpu(&nginx.pids()?, proxied).await?;
                let mounted = mounted_cpu.iter().find(|(s, _)| *s == sessions);
                // CPU time comes in 10 ms ticks: a short run may show none.
                let ratio = match mounted {
                    Some((_, cpu)) if nginx_cpu > 0.0 => format!("{:.2}x", cpu / nginx_cpu),
                    _ => "–".into(),
                };
                let cells = format!(
                    "{:.0} | {:.3} | {:.0} µs",
                    proxied.per_second,
                    proxied.p50_ms,
                    nginx_cpu * 1e6
                );
                (cells, ratio)
            }
            None => ("– | – | –".into(), "–".into()),
        };
        println!(
            "| {sessions} | {:.0} | {:.3} | {:.0} | {:.3} | {:.0} µs | {nginx_cells} | {ratio} |",
            direct.per_second,
            direct.p50_ms,
            hopped.per_second,
            hopped.p50_ms,
            hop_cpu * 1e6,
        );
    }
    if nginx.is_none() {
        println!("\n(nginx not found on PATH or in /usr/sbin: its columns are empty)");
    }
    Ok(())
}

/// nginx as a reverse proxy in front of one child: one worker, HTTP/1.1 to a keep-alive
/// upstream pool, no buffering either way, no access log. Stopped when dropped.
struct Nginx {
    master: Child,
    url: String,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.master.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Nginx {
    /// Starts nginx proxying to `target` (`http://host:port`); `None` when it is not
    /// installed.
    async fn start(target: &str) -> Result<Option<Self>> {
        let Some(bin) = ["nginx", "/usr/sbin/nginx"]
            .into_iter()
            .find(|bin| std::process::Command::new(bin).arg("-v").output().is_ok())
        else {
            return Ok(None);
        };
        let upstream = target
            .strip_prefix("http://")
            .context("an http:// target")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = std::env::temp_dir().join(format!("bench-nginx-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.display();
        let config = format!(
            "worker_processes 1;\npid {path}/nginx.pid;\nerror_log {path}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {path}/body;\n  proxy_temp_path {path}/proxy;\n\
               fastcgi_temp_path {path}/fastcgi;\n  uwsgi_temp_path {path}/uwsgi;\n  scgi_temp_path {path}/scgi;\n\
               upstream child {{ server {upstream}; keepalive 128; }}\n\
               server {{\n    listen 127.0.0.1:{port};\n    location / {{\n\
                 proxy_pass http://child;\n      proxy_http_version 1.1;\n\
                 proxy_set_header Connection \"\";\n      proxy_set_header Host $host;\n\
                 proxy_buffering off;\n      proxy_request_buffering off;\n    }}\n  }}\n}}\n"
        );
        let config_path = dir.join("nginx.conf");
        std::fs::write(&config_path, config)?;
        let master = Command::new(bin)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&config_path)
            // Before the configuration is read, errors go here rather than to /var/log.
            .arg("-e")
            .arg(dir.join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                let url = format!("http://127.0.0.1:{port}/mcp");
                return Ok(Some(Self { master, url, dir }));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("nginx did not listen on port {port}")
    }

    /// The master's pid and its workers'.
    fn pids(&self) -> Result<Vec<u32>> {
        let master = self.master.id().context("nginx exited")?;
        let children = std::fs::read_to_string(format!("/proc/{master}/task/{master}/children"))?;
        let mut pids = vec![master];
        pids.extend(
            children
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
        Ok(pids)
    }
}

/// Calls the meta tool `name` and returns its structured result, or fails with the tool's
/// error text.
async fn call_tool(
    meta: &RunningService<RoleClient, ClientConfig>,
    name: &'static str,
    arguments: Value,
) -> Result<Value> {
    let result = meta
        .call_tool(CallToolRequestParams::new(name).with_arguments(object(arguments)))
        .await?;
    if result.is_error == Some(true) {
        let text: Vec<String> = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect();
        bail!("{name} failed: {}", text.join(" "));
    }
    result
        .structured_content
        .with_context(|| format!("{name} returned no structured result"))
}

fn object(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

struct Stats {
    calls: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `sessions` raw HTTP sessions (reqwest, one connection each) each posting `tools/call`
/// back to back for `duration` and reading the whole SSE response: the server's cost with
/// as little client overhead as possible.
async fn load_raw(
    url: &str,
    auth: Option<&str>,
    tool: &str,
    arguments: &Value,
    sessions: usize,
    duration: Duration,
) -> Result<Stats> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..sessions {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()?;
        let url = url.to_owned();
        let auth = auth.map(str::to_owned);
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}).to_string();
        tasks.push(tokio::spawn(async move {
            let post = |body: String, session: Option<String>| {
                let mut request = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .header("mcp-protocol-version", "2025-11-25")
                    .body(body);
                if let Some(auth) = &auth {
                    request = request.header("authorization", auth);
                }
                if let Some(session) = session {
                    request = request.header("mcp-session-id", session);
                }
                request.send()
            };
            let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}});
            let response = post(init.to_string(), None).await?;
            let session = response.headers().get("mcp-session-id").context("no session id")?.to_str()?.to_owned();
            response.bytes().await?;
            let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            post(initialized.to_string(), Some(session.clone())).await?.bytes().await?;
            let mut latencies = Vec::new();
            loop {
                let t = Instant::now();
                let body = post(call.clone(), Some(session.clone())).await?.bytes().await?;
                latencies.push(t.elapsed());
                let answered = body.windows(8).any(|w| w == b"\"result\"");
                if !answered || body.windows(14).any(|w| w == b"\"isError\":true") {
                    bail!("unexpected answer: {}", String::from_utf8_lossy(&body));
                }
                if Instant::now() >= deadline {
                    break;
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    collect(tasks, started).await
}

/// `sessions` rmcp clients each calling `tool` back to back for `duration`.
async fn load(
    url: &str,
    auth: Option<&str>,
    tool: &str,
    arguments: &Value,
    sessions: usize,
    duration: Duration,
) -> Result<Stats> {
    let mut clients = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        let client = if let Some(sse) = url.strip_suffix("#sse") {
            let mut headers = reqwest::header::HeaderMap::new();
            if let Some(auth) = auth {
                headers.insert(reqwest::header::AUTHORIZATION, auth.parse()?);
            }
            let transport =
                SseClientTransport::connect_with(reqwest::Client::new(), sse, headers).await?;
            client_config().into_dyn().serve(transport).await
        } else {
            let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
            if let Some(auth) = auth {
                config = config.auth_header(auth.trim_start_matches("Bearer "));
            }
            let transport = StreamableHttpClientTransport::from_config(config);
            client_config().into_dyn().serve(transport).await
        };
        clients.push(client.context("initialize")?);
    }
    let arguments = arguments.as_object().cloned().unwrap_or_default();
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for client in &clients {
        let peer = client.peer().clone();
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let call = Instant::now();
                let result = peer.call_tool(params.clone()).await;
                latencies.push(call.elapsed());
                match result {
                    Ok(result) if result.is_error != Some(true) => {}
                    Ok(result) => bail!("tool error: {:?}", result.content),
                    Err(e) => bail!("call failed: {e}"),
                }
                if Instant::now() >= deadline {
                    break;
                }
            }
            Ok(latencies)
        }));
    }
    let stats = collect(tasks, started).await;
    for client in clients {
        let _ = client.cancel().await;
    }
    stats
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<Result<Vec<Duration>>>>,
    started: Instant,
) -> Result<Stats> {
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies[index.min(latencies.len() - 1)].as_secs_f64() * 1000.0
    };
    Ok(Stats {
        calls: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
    })
}

/// Where the binaries are: this example lives in `target/<profile>/examples/`.
fn binaries_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("no parent directory")?;
    if !dir.join("mcp-ephemeral-k8s").is_file() || !dir.join("mcp-test-server").is_file() {
        bail!("build the binaries first: cargo build --profile dist --bins --examples");
    }
    Ok(dir.to_owned())
}

/// Starts `bin args…` and waits for its JSON "listening" log line.
async fn start(bin: &Path, args: &[&str]) -> Result<(Child, String)> {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
    let addr = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await? {
            let value: Value = serde_json::from_str(&line).unwrap_or_default();
            if let Some(addr) = value["fields"]["addr"].as_str() {
                return Ok(addr.to_owned());
            }
        }
        bail!("exited before listening")
    })
    .await??;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, addr))
}

async fn wait_healthy(url: &str) -> Result<()> {
    for _ in 0..200 {
        if reqwest::get(url).await.is_ok_and(|r| r.status() == 200) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{url} never answered 200")
}

/// Runs `load`; returns its figures and the CPU time processes `pids` spent per call
/// meanwhile, in seconds.
async fn with_cpu(pids: &[u32], load: impl Future<Output = Result<Stats>>) -> Result<(Stats, f64)> {
    let spent = || -> Result<f64> { pids.iter().map(|&pid| cpu_seconds(pid)).sum() };
    let before = spent()?;
    let stats = load.await?;
    let per_call = (spent()? - before) / stats.calls as f64;
    Ok((stats, per_call))
}

/// The CPU time (user and system) process `pid` has used, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command (which may hold spaces) start at the state, field 3;
    // utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("no command in stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks =
        |i: usize| -> Result<f64> { Ok(fields.get(i - 3).context("short stat")?.parse::<f64>()?) };
    Ok((ticks(14)? + ticks(15)?) / 100.0)
}

/// Resident set size of a process, in KiB.
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")
}
