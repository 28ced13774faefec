//! Where children run: the [`Backend`] trait and its implementations.
//!
//! - [`local`]: a child is a process group on this machine running the bridge.
//! - [`kubernetes`]: a child is a Job and a Service (and, when asked, RBAC objects).
//!
//! A backend knows how to start, watch, inspect and stop one child by name; the
//! [`crate::SessionManager`] above it keeps the registry, validates input and applies
//! limits, so every backend behaves the same to users.

pub mod kubernetes;
pub mod local;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;

use crate::{
    error::Result,
    model::{EphemeralMcpServer, EphemeralMcpServerConfig, MountTransport, ServerStatus},
    model::{MountRecord, Ownership},
    upstream::Connector,
};

/// What the daemon records with a child besides its configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildMeta {
    /// The preset it was created from.
    pub preset: Option<String>,
    /// Who may see and use it.
    pub ownership: Ownership,
    /// How long its start may take (the create's ready timeout): on Kubernetes the startup
    /// probe gives it that long. `None`: as long as its probe settings say.
    pub ready_timeout: Option<std::time::Duration>,
    /// A warm-pool member of `preset`, not handed out yet: it gets a package cache of its
    /// own, gone with it (whoever gets it must not be able to write a cache others run
    /// from), and on Kubernetes its Job is labelled as a member until [`Backend::hand_out`].
    pub pool: bool,
}

/// A child found running when the daemon started, to take over.
#[derive(Debug, Clone)]
pub struct Adopted {
    /// The server as it was created.
    pub server: EphemeralMcpServer,
    /// How long ago it was created (for `--max-lifetime`).
    pub age: Duration,
    /// Its mount when the previous daemon stopped, or `None` when it was not mounted.
    pub mount: Option<MountRecord>,
    /// A warm-pool member of its preset that was never handed out (no owner, no client).
    pub pool: bool,
}

/// Where a started child can be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Streamable HTTP endpoint (`…/mcp`).
    pub url: String,
    /// Legacy SSE endpoint (`…/sse`).
    pub sse_url: String,
    /// The `Authorization` header value the endpoints demand, if they demand one.
    pub authorization: Option<String>,
    /// Where a local child's bridge listens (a child pod's is the configuration's).
    pub listening: Option<std::net::SocketAddr>,
}

impl Endpoints {
    /// The endpoints of a bridge at `base` (e.g. `http://127.0.0.1:40123`).
    pub fn of_bridge(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            url: format!("{base}/mcp"),
            sse_url: format!("{base}/sse"),
            authorization: None,
            listening: None,
        }
    }
}

/// Human-readable progress of a slow operation ("installing…", "ready"), for MCP progress
/// notifications and logs, and the times of its phases. Reporting is a no-op when nobody
/// listens; the phases are kept either way.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    tx: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    timings: Arc<Timings>,
}

impl Progress {
    /// A progress sink and the receiver of its messages.
    pub fn channel() -> (Self, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let progress = Self {
            tx: Some(tx),
            timings: Arc::default(),
        };
        (progress, rx)
    }

    /// Reports one step.
    pub fn report(&self, message: impl Into<String>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(message.into());
        }
    }

    /// Records that `phase` was reached now (the first time only) and reports `message`.
    pub fn phase(&self, phase: &'static str, message: impl Into<String>) {
        self.timings.reach(phase);
        self.report(message);
    }

    /// The phases reached, shared: they keep growing while the operation goes on.
    pub fn timings(&self) -> Arc<Timings> {
        self.timings.clone()
    }
}

/// When each phase of a child's start was reached, from the moment its creation began.
#[derive(Debug)]
pub struct Timings {
    started: std::time::Instant,
    reached: std::sync::Mutex<Vec<crate::model::Timing>>,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            started: std::time::Instant::now(),
            reached: std::sync::Mutex::default(),
        }
    }
}

impl Timings {
    /// Records `phase` as reached now, unless it was already.
    pub fn reach(&self, phase: &'static str) {
        let after_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut reached = crate::sync::lock(&self.reached);
        if !reached.iter().any(|t| t.phase == phase) {
            reached.push(crate::model::Timing {
                phase: phase.to_owned(),
                after_ms,
            });
        }
    }

    /// The phases reached so far, in order.
    pub fn reached(&self) -> Vec<crate::model::Timing> {
        crate::sync::lock(&self.reached).clone()
    }
}

/// What every backend does with a child, by name.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// `local` or `kubernetes`, as shown to users.
    fn kind(&self) -> &'static str;

    /// The namespace children run in (Kubernetes only).
    fn namespace(&self) -> Option<&str> {
        None
    }

    /// Starts a child called `job_name` and returns where it will be reachable. Returns
    /// once the child exists and is starting; [`Self::wait_ready`] waits for more. On
    /// error nothing is left behind.
    async fn create(
        &self,
        job_name: &str,
        config: &EphemeralMcpServerConfig,
        meta: &ChildMeta,
        progress: &Progress,
    ) -> Result<Endpoints>;

    /// Waits until the child answers MCP, reporting steps to `progress`.
    ///
    /// # Errors
    /// [`crate::Error::JobTimeout`] after `timeout`, [`crate::Error::Job`] as soon as the
    /// child fails (with its log tail).
    async fn wait_ready(
        &self,
        job_name: &str,
        timeout: Duration,
        progress: &Progress,
    ) -> Result<()>;

    /// The child's current state.
    async fn status(&self, job_name: &str) -> Result<ServerStatus>;

    /// Whether the child runs and answers now: a cheap check, made often (a warm pool's
    /// members every few seconds). By default from [`Self::status`].
    async fn alive(&self, job_name: &str) -> bool {
        self.status(job_name).await.is_ok_and(|s| s.ready)
    }

    /// Stops the child and removes everything created for it; returns a line per thing
    /// removed. With `wait`, returns only once it is all gone. Deleting what is already
    /// gone succeeds.
    async fn delete(&self, job_name: &str, wait: bool) -> Result<Vec<String>>;

    /// The children a previous daemon left running, to take over (none for backends whose
    /// children cannot outlive the daemon). Finished ones are deleted instead when `gc`.
    async fn adopt(&self, gc: bool) -> Result<Vec<Adopted>> {
        let _ = gc;
        Ok(Vec::new())
    }

    /// Remembers with the child that it is mounted (`Some`) or not (`None`), for
    /// [`Self::adopt`].
    async fn record_mount(&self, job_name: &str, mount: Option<&MountRecord>) -> Result<()> {
        let _ = (job_name, mount);
        Ok(())
    }

    /// Gives warm-pool member `job_name`, started `age` ago, to `ownership`: from now on
    /// it is a child like any other, for adoption too (on Kubernetes: its Job loses the
    /// pool label and gets its owner's annotations, and its deadline counts from now).
    async fn hand_out(&self, job_name: &str, ownership: &Ownership, age: Duration) -> Result<()> {
        let _ = (job_name, ownership, age);
        Ok(())
    }

    /// How a mount reaches the child when its URL is not directly reachable (Kubernetes,
    /// from outside the cluster), presenting `authorization` (the child's
    /// [`Endpoints::authorization`]); `None` to connect to the URL.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] when the child cannot be mounted over `transport` from here.
    fn connector(
        &self,
        job_name: &str,
        transport: MountTransport,
        authorization: Option<&str>,
    ) -> Result<Option<Connector>> {
        let _ = (job_name, transport, authorization);
        Ok(None)
    }
}
