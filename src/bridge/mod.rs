//! The bridge: serves one stdio MCP server over legacy SSE and streamable HTTP.
//!
//! It is what every child runs (`mcp-ephemeral-k8s bridge -- uvx mcp-server-time`), in a
//! pod or as a local process. It binds first, so `/health` answers (503 while starting),
//! then starts the command in its own process group, completes `initialize` with it once,
//! and serves any number of client sessions through one [`Upstream`]. It exits when the
//! command exits — with the command's code, or 1 if that was 0, since a server that stops
//! serving has failed — so a Job sees the failure. On SIGTERM it stops the command's whole
//! process group and exits 0. Progress on stdout: [`crate::model::BridgeEvent`].

mod oversized;

use std::{net::SocketAddr, process::Stdio, sync::Arc};

use tokio::{
    io::{AsyncWriteExt, BufReader},
    net::TcpListener,
    process::{Child, ChildStderr, Command},
};
use tokio_util::sync::CancellationToken;

use crate::model::BridgeEvent;
use crate::{
    http::{self, CorsPolicy, HttpOptions, Readiness},
    lines::BoundedLines,
    process,
    upstream::{ClientSessions, Forwarder, Rounds, Upstream, relay_events},
};

/// How long a bridge keeps an idle connection (its header timeout counts from the end of
/// the previous answer): longer than the idle timeout of the proxies in front of it.
const BRIDGE_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Sessions a bridge serves at once.
const BRIDGE_MAX_SESSIONS: usize = 10_000;

/// The prefix of the bridge's own environment variables, not passed to the command.
const PRIVATE_ENV_PREFIX: &str = "MCP_EPHEMERAL_K8S_";

/// Longest stderr line passed on, in bytes (the rest of a longer one is dropped unread
/// into memory).
const MAX_STDERR_LINE: usize = 16 * 1024;

/// How long to wait for a command that failed `initialize` to exit and flush its stderr.
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// What the bridge serves, and where.
#[derive(Debug, Clone)]
pub struct BridgeOptions {
    /// Address to bind (`0.0.0.0` in a pod, `127.0.0.1` locally).
    pub bind: SocketAddr,
    /// Browser origins allowed to call it.
    pub cors: CorsPolicy,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// The stdio MCP server's command line: program, then arguments.
    pub command: Vec<String>,
    /// The token every client must send (`Authorization: Bearer <token>`); `None` serves
    /// anyone who reaches the port.
    pub token: Option<String>,
}

/// Why the bridge could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No command after `--`.
    #[error("no command to run; usage: mcp-ephemeral-k8s bridge -- <command> [args…]")]
    NoCommand,
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The command could not be started.
    #[error("cannot start {program:?}: {source}; is it installed and on PATH?")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The command did not complete `initialize`.
    #[error("{program:?} did not complete MCP initialize: {reason}")]
    Initialize {
        /// The program.
        program: String,
        /// What happened.
        reason: String,
        /// The command's exit code, when it exited: the bridge exits with it too, so a
        /// Job (or the daemon) sees the server's own code.
        code: Option<i32>,
    },
    /// Serving HTTP failed.
    #[error("serving HTTP failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// Runs the bridge until the command exits or `ct` is cancelled; returns the exit code
/// the process should end with.
///
/// # Errors
/// [`Error`] when the bridge cannot start serving.
pub async fn run(options: BridgeOptions, ct: CancellationToken) -> Result<i32, Error> {
    let program = options.command.first().cloned().ok_or(Error::NoCommand)?;
    let listener = TcpListener::bind(options.bind)
        .await
        .map_err(|source| Error::Bind {
            addr: options.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: options.bind,
        source,
    })?;
    BridgeEvent::Listening {
        addr: addr.to_string(),
    }
    .emit();
    let command = options.command.join(" ");
    tracing::info!(%addr, command = %crate::model::cut(&command, 200), "bridge listening");

    let upstream_slot: Arc<std::sync::OnceLock<Arc<Upstream>>> = Arc::default();
    let sessions = Arc::new(ClientSessions::default());
    let readiness = Readiness::default();
    let mut http = HttpOptions::for_bind(addr, ct.child_token());
    http.cors = options.cors.clone();
    http.guard.origins = options.cors.clone();
    http.max_body_bytes = options.max_body_bytes;
    // Fewer streamed bodies for a proxy in between to cut (the Kubernetes API server's).
    http.json_answers = true;
    // Only the token's holders reach a bridge: the caps guard memory, not fairness.
    http.sessions.max_sessions = BRIDGE_MAX_SESSIONS;
    http.sessions.max_sessions_per_principal = BRIDGE_MAX_SESSIONS;
    if let Some(token) = &options.token {
        http.guard.tokens = http::Tokens::new(vec![(
            crate::model::Principal::new("daemon"),
            token.clone(),
        )]);
    }
    let slot = upstream_slot.clone();
    let factory_sessions = sessions.clone();
    // A bridge has no call timeout of its own: the daemon's applies to the calls it makes.
    let rounds = Arc::new(Rounds::new(None));
    let factory = move || {
        slot.get()
            .map(|upstream| {
                Forwarder::new(upstream.clone(), factory_sessions.clone(), rounds.clone())
            })
            .ok_or_else(|| std::io::Error::other("the MCP server is still starting"))
    };
    let router = http::router(factory, readiness.clone(), &http, http::Identity::new());
    let http_ct = ct.child_token();
    let limits = http::ListenerLimits {
        // Idle keep-alive connections stay longer than a proxy in front keeps them (the
        // API server's Go proxy: 90 s), so the proxy never reuses one the bridge is closing.
        header_timeout: BRIDGE_HEADER_TIMEOUT,
        ..http::ListenerLimits::default()
    };
    let mut serving = tokio::spawn(http::serve(listener, router, http_ct.clone(), limits));

    let mut child = spawn(&options.command, &program)?;
    let pid = child.id().unwrap_or_default();
    BridgeEvent::Child { pid }.emit();
    let stderr = child
        .stderr
        .take()
        .map(|stderr| tokio::spawn(forward_stderr(stderr)));
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        unreachable!("stdin and stdout are piped")
    };

    let connect = Upstream::connect((oversized::guard(stdout), stdin));
    let upstream = tokio::select! {
        result = connect => result,
        () = ct.cancelled() => return Ok(stop(&mut child, &http_ct, serving).await),
    };
    let upstream = match upstream {
        Ok((upstream, events)) => {
            tokio::spawn(relay_events(events, sessions));
            Arc::new(upstream)
        }
        Err(e) => {
            http_ct.cancel();
            // Say why in the words that matter: usually the command exited (a missing
            // package, a crash); then its last stderr lines must reach our stderr first.
            let exited = tokio::time::timeout(EXIT_WAIT, child.wait()).await;
            if let Some(stderr) = stderr {
                let _ = tokio::time::timeout(EXIT_WAIT, stderr).await;
            }
            let (reason, code) = match exited {
                Ok(Ok(status)) => {
                    let code = process::exit_code(status);
                    (format!("it exited with code {code}"), Some(code))
                }
                _ => {
                    let _ = process::stop_group(&mut child, process::STOP_GRACE).await;
                    (e.to_string(), None)
                }
            };
            return Err(Error::Initialize {
                program,
                reason,
                code,
            });
        }
    };
    let info = &upstream.info().server_info;
    BridgeEvent::Ready {
        server: info.name.clone(),
        version: info.version.clone(),
    }
    .emit();
    tracing::info!(server = %info.name, version = %info.version, "MCP server ready");
    let _ = upstream_slot.set(upstream);
    readiness.set_ready();

    tokio::select! {
        status = child.wait() => {
            http_ct.cancel();
            let code = status.map(process::exit_code).unwrap_or(1);
            tracing::error!(code, "the MCP server exited; the bridge exits too");
            Ok(if code == 0 { 1 } else { code })
        }
        result = &mut serving => {
            let _ = process::stop_group(&mut child, process::STOP_GRACE).await;
            match result {
                Ok(Ok(())) => Ok(0),
                Ok(Err(e)) => Err(Error::Serve(e)),
                Err(e) => Err(Error::Serve(std::io::Error::other(e))),
            }
        }
        () = ct.cancelled() => Ok(stop(&mut child, &http_ct, serving).await),
    }
}

/// Graceful stop: stop accepting, stop the command's process group, exit 0.
async fn stop(
    child: &mut Child,
    http_ct: &CancellationToken,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
) -> i32 {
    http_ct.cancel();
    if let Err(e) = process::stop_group(child, process::STOP_GRACE).await {
        tracing::warn!(cause = %e, "could not stop the MCP server cleanly");
    }
    let _ = tokio::time::timeout(process::STOP_GRACE, serving).await;
    0
}

fn spawn(command: &[String], program: &str) -> Result<Child, Error> {
    let mut cmd = Command::new(program);
    cmd.args(&command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // The bridge's own settings (its token among them) are not the command's.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with(PRIVATE_ENV_PREFIX) {
            cmd.env_remove(name);
        }
    }
    process::isolate(&mut cmd, libc::SIGKILL);
    cmd.spawn().map_err(|source| Error::Spawn {
        program: program.to_owned(),
        source,
    })
}

/// Copies the command's stderr to the bridge's, line by line (the pod log, or the
/// daemon's log tail).
async fn forward_stderr(stderr: ChildStderr) {
    let mut lines = BoundedLines::new(BufReader::new(stderr), MAX_STDERR_LINE);
    let mut out = tokio::io::stderr();
    while let Some(line) = lines.next_line().await {
        let _ = out.write_all(format!("{}\n", line.text).as_bytes()).await;
    }
}
