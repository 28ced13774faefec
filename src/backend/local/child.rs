//! One locally-run child: a bridge process (its own process group) and what the daemon
//! knows of it, learned from the bridge's stdout events and stderr lines.

use std::{
    collections::VecDeque,
    path::Path,
    process::Stdio,
    sync::{
        Mutex,
        atomic::{AtomicU32, Ordering},
    },
};

use tokio::{
    io::BufReader,
    process::Command,
    sync::{broadcast, watch},
};

use super::ChildPlace;
use crate::{
    error::{Error, Result},
    lines::{BoundedLines, Line},
    model::{BridgeEvent, REDACTED, unix_now},
    process,
};

/// Lines of stderr kept for status and errors.
pub const LOG_TAIL_LINES: usize = 40;

/// Longest stderr line kept, in bytes; longer lines are cut (a minified stack trace
/// should not fill the tail) and the rest is never held.
const MAX_LINE_BYTES: usize = 512;

/// Longest bridge event line read from stdout (events are short JSON objects).
const MAX_EVENT_BYTES: usize = 4096;

/// Shorter `env` values are not redacted from the log tail: a `1` or `true` would
/// blank out every digit and word of it.
const MIN_SECRET_LEN: usize = 6;

/// Where a child is in its life, as the daemon has seen it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildState {
    /// Spawned; the bridge has not bound its port yet.
    Starting,
    /// The bridge listens at `addr`; the MCP server is starting behind it.
    Listening {
        /// The bridge's address.
        addr: String,
    },
    /// The MCP server completed `initialize`.
    Ready {
        /// The bridge's address.
        addr: String,
    },
    /// The bridge exited.
    Exited {
        /// Its exit code (128 + signal when killed).
        code: i32,
        /// The address it had, if it got that far.
        addr: Option<String>,
    },
}

impl ChildState {
    /// The bridge's address, once known.
    pub fn addr(&self) -> Option<&str> {
        match self {
            Self::Starting => None,
            Self::Listening { addr } | Self::Ready { addr } => Some(addr),
            Self::Exited { addr, .. } => addr.as_deref(),
        }
    }
}

/// A running (or exited) bridge process.
pub struct LocalChild {
    /// The bridge's PID, also its process group.
    pub pid: u32,
    /// The MCP server's PID (its own process group), once the bridge reports it; 0 before.
    child_pid: AtomicU32,
    /// When it was started (Unix seconds).
    pub started_at: u64,
    /// Its home and working directory.
    pub home: std::path::PathBuf,
    /// Values that must not appear in its log tail or progress (its `env` values).
    secrets: Vec<String>,
    state: watch::Sender<ChildState>,
    /// Every stderr line, for whoever is waiting (progress reports).
    lines: broadcast::Sender<String>,
    /// The last [`LOG_TAIL_LINES`] stderr lines. A std mutex: no await while held.
    tail: Mutex<VecDeque<String>>,
    /// The phases of its start, recorded as its output shows them: `installed` (the
    /// installer said so), `initialized` (the bridge's MCP server answered `initialize`).
    timings: std::sync::Arc<crate::backend::Timings>,
}

/// Whether `line` is uv's or npm's report of packages just installed (`Installed 31
/// packages in 23ms`, `added 5 packages in 2s`); nothing is said when the cache had them.
pub fn installer_report(line: &str) -> bool {
    let counted = |rest: &str| {
        let mut words = rest.split(' ');
        let number = words.next().is_some_and(|n| n.parse::<u32>().is_ok());
        number && words.next().is_some_and(|w| w.starts_with("package"))
    };
    [line.strip_prefix("Installed "), line.strip_prefix("added ")]
        .into_iter()
        .flatten()
        .any(counted)
}

impl LocalChild {
    /// Starts `exe bridge …` in `place`: its home as working directory and its
    /// environment only (nothing else of the daemon's). `secrets` are replaced by
    /// [`REDACTED`] in what it writes on stderr. Returns once the process exists; its
    /// output is followed by background tasks, which record the phases it shows in
    /// `timings`.
    pub fn spawn(
        name: &str,
        exe: &Path,
        bridge_args: &[String],
        place: ChildPlace,
        secrets: &[String],
        timings: std::sync::Arc<crate::backend::Timings>,
    ) -> Result<std::sync::Arc<Self>> {
        let mut command = Command::new(exe);
        command
            .args(bridge_args)
            .current_dir(&place.home)
            .env_clear()
            .envs(&place.env)
            .env(crate::model::LOG_ENV, "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SIGTERM, not SIGKILL: the bridge stops its MCP server's process group on SIGTERM.
        process::isolate(&mut command, libc::SIGTERM);
        let mut process = command
            .spawn()
            .map_err(|e| Error::io(format!("cannot start the bridge {}", exe.display()), e))?;
        let pid = process.id().unwrap_or_default();
        let (stdout, stderr) = (process.stdout.take(), process.stderr.take());
        let child = std::sync::Arc::new(Self {
            pid,
            child_pid: AtomicU32::new(0),
            started_at: unix_now(),
            home: place.home,
            secrets: secrets
                .iter()
                .filter(|s| s.len() >= MIN_SECRET_LEN)
                .cloned()
                .collect(),
            state: watch::Sender::new(ChildState::Starting),
            lines: broadcast::Sender::new(64),
            tail: Mutex::new(VecDeque::with_capacity(LOG_TAIL_LINES)),
            timings,
        });
        let span = tracing::info_span!("child", child = %name, pid);
        if let Some(stdout) = stdout {
            tokio::spawn(child.clone().follow_events(stdout));
        }
        let stderr_done =
            stderr.map(|stderr| tokio::spawn(child.clone().follow_stderr(stderr, span.clone())));
        let watcher = child.clone();
        tokio::spawn(async move {
            let code = process.wait().await.map(process::exit_code).unwrap_or(1);
            // Let the last stderr lines land in the tail before anyone reads the exit.
            if let Some(done) = stderr_done {
                let _ = tokio::time::timeout(std::time::Duration::from_millis(500), done).await;
            }
            let _enter = span.enter();
            tracing::info!(code, "bridge exited");
            watcher.state.send_modify(|state| {
                let addr = state.addr().map(str::to_owned);
                *state = ChildState::Exited { code, addr };
            });
        });
        Ok(child)
    }

    async fn follow_events(self: std::sync::Arc<Self>, stdout: tokio::process::ChildStdout) {
        let mut lines = BoundedLines::new(BufReader::new(stdout), MAX_EVENT_BYTES);
        while let Some(Line { text: line, .. }) = lines.next_line().await {
            match BridgeEvent::parse(&line) {
                Some(BridgeEvent::Listening { addr }) => {
                    self.state.send_if_modified(|state| {
                        let update = matches!(state, ChildState::Starting);
                        if update {
                            *state = ChildState::Listening { addr };
                        }
                        update
                    });
                }
                Some(BridgeEvent::Child { pid }) => {
                    self.child_pid.store(pid, Ordering::Release);
                    // Wake whoever waits for the start to complete.
                    self.state.send_modify(|_| {});
                }
                Some(BridgeEvent::Ready { .. }) => {
                    self.timings.reach("initialized");
                    self.state.send_if_modified(|state| match state {
                        ChildState::Listening { addr } => {
                            *state = ChildState::Ready { addr: addr.clone() };
                            true
                        }
                        _ => false,
                    });
                }
                None => tracing::debug!(%line, "unexpected bridge output"),
            }
        }
    }

    async fn follow_stderr(
        self: std::sync::Arc<Self>,
        stderr: tokio::process::ChildStderr,
        span: tracing::Span,
    ) {
        let mut lines = BoundedLines::new(BufReader::new(stderr), MAX_LINE_BYTES);
        while let Some(Line { text, .. }) = lines.next_line().await {
            let line = self.redact(text);
            span.in_scope(|| tracing::debug!(%line, "stderr"));
            if installer_report(&line) {
                self.timings.reach("installed");
            }
            {
                let mut tail = crate::sync::lock(&self.tail);
                if tail.len() == LOG_TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line.clone());
            }
            let _ = self.lines.send(line);
        }
    }

    /// `line` with every secret replaced by [`REDACTED`].
    fn redact(&self, mut line: String) -> String {
        for secret in &self.secrets {
            if line.contains(secret.as_str()) {
                line = line.replace(secret.as_str(), REDACTED);
            }
        }
        line
    }

    /// The current state.
    pub fn state(&self) -> ChildState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every state change.
    pub fn watch_state(&self) -> watch::Receiver<ChildState> {
        self.state.subscribe()
    }

    /// A receiver of stderr lines from now on.
    pub fn watch_lines(&self) -> broadcast::Receiver<String> {
        self.lines.subscribe()
    }

    /// The MCP server's PID, once known.
    pub fn child_pid(&self) -> Option<u32> {
        Some(self.child_pid.load(Ordering::Acquire)).filter(|pid| *pid != 0)
    }

    /// The last lines of stderr.
    pub fn log_tail(&self) -> Vec<String> {
        let tail = crate::sync::lock(&self.tail);
        tail.iter().cloned().collect()
    }

    /// Stops the bridge (which stops its MCP server), escalating to SIGKILL for both
    /// process groups after `grace`. Returns what it removed.
    pub async fn stop(&self, grace: std::time::Duration) -> Vec<String> {
        let mut removed = Vec::new();
        let mut state = self.watch_state();
        let exited = |s: &ChildState| matches!(s, ChildState::Exited { .. });
        if !exited(&state.borrow()) {
            let _ = process::signal_group(self.pid, libc::SIGTERM);
            // The bridge gives its MCP server process::STOP_GRACE, so allow for that.
            let waited = tokio::time::timeout(grace + process::STOP_GRACE, state.wait_for(exited))
                .await
                .is_ok();
            if !waited {
                tracing::warn!(pid = self.pid, "bridge ignored SIGTERM; killing it");
                let _ = process::signal_group(self.pid, libc::SIGKILL);
                let _ = tokio::time::timeout(grace, state.wait_for(exited)).await;
            }
            removed.push(format!("bridge process {} (process group)", self.pid));
        }
        if let Some(pid) = self.child_pid() {
            if process::group_alive(pid) {
                let _ = process::signal_group(pid, libc::SIGKILL);
            }
            removed.push(format!("MCP server process {pid} (process group)"));
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::installer_report;

    #[test]
    fn installers_reports_are_told_from_other_lines() {
        assert!(installer_report("Installed 31 packages in 23ms"));
        assert!(installer_report("Installed 1 package in 3ms"));
        assert!(installer_report("added 5 packages in 2s"));
        assert!(!installer_report("Installed the time server"));
        assert!(!installer_report("Resolved 31 packages in 120ms"));
        assert!(!installer_report("error: added nothing"));
    }
}
