//! Where children run: the [`Backend`] trait and its implementations.
//!
//! - [`local`]: a child is a process group on this machine running the bridge.
//! - `kubernetes` (later): a child is a Job and a Service.
//!
//! A backend knows how to start, watch, inspect and stop one child by name; the
//! [`crate::SessionManager`] above it keeps the registry, validates input and applies
//! limits, so every backend behaves the same to users.

pub mod local;

use std::time::Duration;

use async_trait::async_trait;

use crate::{
    error::Result,
    model::{EphemeralMcpServerConfig, ServerStatus},
};

/// Where a started child can be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Streamable HTTP endpoint (`…/mcp`).
    pub url: String,
    /// Legacy SSE endpoint (`…/sse`).
    pub sse_url: String,
}

impl Endpoints {
    /// The endpoints of a bridge at `base` (e.g. `http://127.0.0.1:40123`).
    pub fn of_bridge(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            url: format!("{base}/mcp"),
            sse_url: format!("{base}/sse"),
        }
    }
}

/// Human-readable progress of a slow operation ("installing…", "ready"), for MCP progress
/// notifications and logs. A no-op when nobody listens.
#[derive(Debug, Clone, Default)]
pub struct Progress(Option<tokio::sync::mpsc::UnboundedSender<String>>);

impl Progress {
    /// A progress sink and the receiver of its messages.
    pub fn channel() -> (Self, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Self(Some(tx)), rx)
    }

    /// Reports one step.
    pub fn report(&self, message: impl Into<String>) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(message.into());
        }
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

    /// Stops the child and removes everything created for it; returns a line per thing
    /// removed. With `wait`, returns only once it is all gone. Deleting what is already
    /// gone succeeds.
    async fn delete(&self, job_name: &str, wait: bool) -> Result<Vec<String>>;
}
