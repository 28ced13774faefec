//! The local backend: each child is a process group on this machine running
//! `mcp-ephemeral-k8s bridge --host 127.0.0.1 --port 0 -- <exec> <pkg> <args…>`.
//!
//! Readiness comes from the bridge's stdout events (bound port, then `initialize` done),
//! not from polling. A child's stderr tail is kept for status and errors. Children get a
//! parent-death signal, so they stop with the daemon even if it is killed.

mod bwrap;
mod child;
mod sandbox;

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;

use super::{Backend, Endpoints, Progress};
use crate::{
    error::{Error, Result},
    model::{EphemeralMcpServerConfig, Phase, ProcessStatus, ServerStatus, rfc3339},
};
pub use child::{ChildState, LOG_TAIL_LINES, LocalChild};
pub use sandbox::{ChildPlace, LocalSettings, PASSED_ENV, Sandbox, SandboxMode};

/// How long a bridge may take to bind its port and start its command. Both are local and
/// take milliseconds; this only guards against a wedged machine.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The binary that provides `bridge`.
const BRIDGE_BIN: &str = "mcp-ephemeral-k8s";

/// Overrides where the bridge binary is found.
pub const BRIDGE_BIN_ENV: &str = "MCP_EPHEMERAL_K8S_BRIDGE_BIN";

/// Extra time a bridge gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Runs children as local processes.
pub struct LocalBackend {
    /// The binary that provides the `bridge` subcommand (normally this very executable).
    exe: PathBuf,
    /// Where children live and how they are confined.
    sandbox: Sandbox,
    /// Children by name. A std mutex: held only to insert, remove or clone an entry.
    children: Mutex<HashMap<String, Arc<LocalChild>>>,
}

impl LocalBackend {
    /// A backend whose children run `exe bridge …`, placed and confined per `settings`.
    ///
    /// # Errors
    /// As [`Sandbox::prepare`].
    pub fn new(exe: PathBuf, settings: &LocalSettings) -> Result<Self> {
        Ok(Self {
            exe,
            sandbox: Sandbox::prepare(settings)?,
            children: Mutex::default(),
        })
    }

    /// Whether children run in the bubblewrap sandbox.
    pub fn sandboxed(&self) -> bool {
        self.sandbox.is_on()
    }

    /// A backend using the `mcp-ephemeral-k8s` binary as the bridge: the path in
    /// `MCP_EPHEMERAL_K8S_BRIDGE_BIN`, else the running executable if it is that binary,
    /// else one next to the running executable (or one directory up, as for cargo's
    /// examples and tests), else one on `PATH`.
    ///
    /// # Errors
    /// [`Error::ServerCreation`] saying how to provide the binary when none is found; as
    /// [`Self::new`].
    pub fn locate(settings: &LocalSettings) -> Result<Self> {
        Self::new(Self::bridge_binary()?, settings)
    }

    fn bridge_binary() -> Result<PathBuf> {
        if let Some(path) = std::env::var_os(BRIDGE_BIN_ENV) {
            return Ok(path.into());
        }
        let current = std::env::current_exe().ok();
        if let Some(exe) = &current
            && exe.file_name().is_some_and(|n| n == BRIDGE_BIN)
        {
            return Ok(exe.clone());
        }
        let near = current
            .iter()
            .flat_map(|exe| exe.ancestors().skip(1).take(2))
            .map(|dir| dir.join(BRIDGE_BIN));
        let on_path = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
            .map(|dir| dir.join(BRIDGE_BIN));
        near.chain(on_path)
            .find(|candidate| candidate.is_file())
            .ok_or_else(|| {
                Error::ServerCreation(format!(
                    "the local backend needs the {BRIDGE_BIN} binary as the bridge; install it \
                     (cargo install --path .) or set {BRIDGE_BIN_ENV} to its path"
                ))
            })
    }

    fn child(&self, job_name: &str) -> Result<Arc<LocalChild>> {
        crate::sync::lock(&self.children)
            .get(job_name)
            .cloned()
            .ok_or_else(|| Error::JobNotFound {
                job_name: job_name.to_owned(),
            })
    }

    fn failed(job_name: &str, child: &LocalChild, code: i32, when: &str) -> Error {
        Error::Job {
            job_name: job_name.to_owned(),
            reason: format!("the server exited with code {code} {when}"),
            log_tail: child.log_tail(),
        }
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn create(
        &self,
        job_name: &str,
        config: &EphemeralMcpServerConfig,
        meta: &super::ChildMeta,
        progress: &Progress,
    ) -> Result<Endpoints> {
        let mut args = config.bridge_args("127.0.0.1", 0)?.ok_or_else(|| {
            Error::InvalidRuntime(
                "the local backend runs packages: give runtime_exec and runtime_mcp (or a preset); \
                 image-only servers need the Kubernetes backend"
                    .into(),
            )
        })?;
        if let Some(name) = config
            .env
            .iter()
            .find_map(|(name, value)| crate::secrets::secret_ref(value).map(|_| name))
        {
            return Err(Error::invalid(
                "env",
                format!(
                    "{name} references a Kubernetes Secret, which needs the Kubernetes backend; \
                     use ${{VAR}} (a variable of the daemon) or give the value"
                ),
            ));
        }
        let exec = config.runtime_exec.as_deref().unwrap_or_default();
        let place = self.sandbox.place(
            job_name,
            meta.ownership.owner.as_deref(),
            meta.pool,
            exec,
            &config.env,
        )?;
        let home = place.home.clone();
        let token = crate::model::new_token();
        let mut place = place;
        place
            .env
            .insert(crate::model::BRIDGE_TOKEN_ENV.to_owned(), token.clone());
        // The command starts after `--`; the sandbox goes in front of it.
        let command_at = args
            .iter()
            .position(|a| a == "--")
            .map_or(args.len(), |i| i + 1);
        args.splice(command_at..command_at, place.wrap.iter().cloned());
        let command = config.command_line();
        progress.report(format!("starting {}", crate::model::cut(&command, 200)));
        let secrets: Vec<String> = config.env.values().cloned().collect();
        let timings = progress.timings();
        let child = match LocalChild::spawn(job_name, &self.exe, &args, place, &secrets, timings) {
            Ok(child) => child,
            Err(error) => {
                self.sandbox.remove(&home);
                return Err(error);
            }
        };
        crate::sync::lock(&self.children).insert(job_name.to_owned(), child.clone());
        progress.timings().reach("created");

        // Wait until the bridge has bound its port and started the command (or failed to).
        let mut state = child.watch_state();
        let started = tokio::time::timeout(
            START_TIMEOUT,
            state.wait_for(|s| {
                matches!(s, ChildState::Exited { .. })
                    || (s.addr().is_some() && child.child_pid().is_some())
            }),
        )
        .await
        .is_ok();
        let current = child.state();
        let failure = match (started, &current) {
            (false, _) => Some(Error::ServerCreation(format!(
                "the bridge did not start within {START_TIMEOUT:?}"
            ))),
            (_, ChildState::Exited { code, .. }) => {
                Some(Self::failed(job_name, &child, *code, "while starting"))
            }
            _ => None,
        };
        if let Some(error) = failure {
            self.delete(job_name, true).await?;
            return Err(error);
        }
        progress.phase("started", "started: the bridge runs the command");
        let addr = current.addr().unwrap_or_default();
        Ok(Endpoints {
            authorization: Some(format!("Bearer {token}")),
            listening: addr.parse().ok(),
            ..Endpoints::of_bridge(&format!("http://{addr}"))
        })
    }

    async fn wait_ready(
        &self,
        job_name: &str,
        timeout: Duration,
        progress: &Progress,
    ) -> Result<()> {
        let child = self.child(job_name)?;
        let mut state = child.watch_state();
        let mut lines = child.watch_lines();
        let deadline = tokio::time::Instant::now() + timeout;
        progress.report(
            "waiting for the MCP server to initialize (a first uvx/npx run downloads packages)",
        );
        loop {
            match &*state.borrow_and_update() {
                ChildState::Ready { .. } => {
                    progress.report("initialized: the MCP server answered initialize");
                    progress.phase("ready", "ready");
                    return Ok(());
                }
                ChildState::Exited { code, .. } => {
                    return Err(Self::failed(job_name, &child, *code, "before it was ready"));
                }
                ChildState::Starting | ChildState::Listening { .. } => {}
            }
            tokio::select! {
                changed = state.changed() => {
                    if changed.is_err() {
                        return Err(Self::failed(job_name, &child, 1, "before it was ready"));
                    }
                }
                line = lines.recv() => {
                    if let Ok(line) = line {
                        if child::installer_report(&line) {
                            progress.report(format!("installed: {line}"));
                            continue;
                        }
                        progress.report(line);
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    return Err(Error::JobTimeout {
                        job_name: job_name.to_owned(),
                        timeout,
                        log_tail: child.log_tail(),
                    });
                }
            }
        }
    }

    async fn status(&self, job_name: &str) -> Result<ServerStatus> {
        let child = self.child(job_name)?;
        let state = child.state();
        let (phase, ready, exit_code) = match &state {
            ChildState::Starting => (Phase::Pending, false, None),
            ChildState::Listening { .. } => (Phase::Running, false, None),
            ChildState::Ready { .. } => (Phase::Running, true, None),
            ChildState::Exited { code: 0, .. } => (Phase::Succeeded, false, Some(0)),
            ChildState::Exited { code, .. } => (Phase::Failed, false, Some(*code)),
        };
        let log_tail = child.log_tail();
        let last_error = exit_code.filter(|c| *c != 0).map(|code| {
            let last = log_tail
                .last()
                .map(|l| format!(": {l}"))
                .unwrap_or_default();
            format!("the server exited with code {code}{last}")
        });
        Ok(ServerStatus {
            timings: Vec::new(),
            job_name: job_name.to_owned(),
            backend: self.kind().to_owned(),
            phase,
            ready,
            start_time: Some(rfc3339(child.started_at)),
            url: state
                .addr()
                .map(|a| Endpoints::of_bridge(&format!("http://{a}")).url)
                .unwrap_or_default(),
            // The manager adds it for the owner.
            authorization: None,
            pods: Vec::new(),
            conditions: Vec::new(),
            process: Some(ProcessStatus {
                pid: child.pid,
                child_pid: child.child_pid(),
                exit_code,
            }),
            last_error,
            log_tail,
            mount: None,
        })
    }

    async fn delete(&self, job_name: &str, _wait: bool) -> Result<Vec<String>> {
        let child = crate::sync::lock(&self.children).remove(job_name);
        match child {
            // Stopping is quick and local, so it always completes before returning.
            Some(child) => {
                let mut removed = child.stop(STOP_GRACE).await;
                self.sandbox.remove(&child.home);
                removed.push(format!("home directory {}", child.home.display()));
                Ok(removed)
            }
            None => Ok(Vec::new()),
        }
    }
}
