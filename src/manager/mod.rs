//! [`SessionManager`]: the library's entry point, one per backend. It validates requests,
//! names children, keeps the registry of the servers this process created and their
//! mounts, and deletes them on [`SessionManager::close`].

mod create;
mod mounting;
mod pool;
mod reaper;
mod usage;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::{
    backend::{Backend, local::LocalBackend},
    error::{Error, Result},
    metrics::{Gauges, Metrics},
    model::{DeletedServer, EphemeralMcpServer, EphemeralMcpServerConfig, ServerStatus},
    mount::Mounts,
    policy::Policy,
    presets::Presets,
    upstream::ClientSessions,
};
pub use create::CreateOptions;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use usage::Usage;

/// Default time a child gets to become ready: a first `uvx`/`npx` run downloads packages.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(120);

/// The longest wait a caller may ask for.
pub const MAX_READY_TIMEOUT: Duration = Duration::from_secs(1800);

/// How a [`SessionManager`] behaves.
#[derive(Debug, Clone)]
pub struct ManagerSettings {
    /// Time a child gets to become ready when none is given per request.
    pub ready_timeout: Duration,
    /// Leave children running on [`SessionManager::close`] (Kubernetes backend only:
    /// local children always stop with the daemon).
    pub keep_children: bool,
    /// What callers may run, and the limits.
    pub policy: Policy,
    /// Tool names no mount may add, because the server in front of the manager has tools
    /// of its own by those names (the daemon's meta tools); empty for the library.
    pub reserved_tools: Vec<String>,
    /// Warm pools: presets and how many of each to keep ready.
    pub pools: Vec<(String, usize)>,
    /// The MCP Registry servers may be created from.
    pub registry: Option<crate::registry::Registry>,
}

impl Default for ManagerSettings {
    fn default() -> Self {
        Self {
            ready_timeout: DEFAULT_READY_TIMEOUT,
            keep_children: false,
            policy: Policy::default(),
            reserved_tools: Vec::new(),
            pools: Vec::new(),
            registry: None,
        }
    }
}

/// Creates, tracks and deletes ephemeral MCP servers on one backend.
pub struct SessionManager {
    backend: Arc<dyn Backend>,
    presets: Presets,
    settings: ManagerSettings,
    /// Servers created by this process, by name. A std mutex: no await while held.
    servers: Registry,
    /// The meta-server's client sessions (for `list_changed` and relayed notifications).
    sessions: Arc<ClientSessions>,
    /// Servers mounted on the meta-server.
    mounts: Mounts,
    /// The children counted against the limits, and their use.
    usage: Usage,
    /// Counters for `/metrics`.
    metrics: Metrics,
    /// The manager's background tasks (mount supervisors, clean-ups, the reaper, calls
    /// served past rmcp), drained by [`Self::close`].
    tasks: TaskTracker,
    /// Cancelled by [`Self::close`]: stops the reaper between rounds, and the pools.
    closing: CancellationToken,
    /// Children of presets kept started and ready.
    pools: pool::Pools,
}

impl SessionManager {
    /// A manager running children on `backend`.
    pub fn new(backend: impl Backend, presets: Presets, settings: ManagerSettings) -> Self {
        let sessions = Arc::new(ClientSessions::default());
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let tasks = TaskTracker::new();
        let pools = pool::Pools::new(&settings.pools, &presets);
        Self {
            backend: Arc::new(backend),
            presets,
            servers: Mutex::default(),
            mounts: Mounts::new(
                sessions.clone(),
                instance,
                settings.reserved_tools.clone(),
                settings.policy.limits.clone(),
                tasks.clone(),
            ),
            settings,
            sessions,
            usage: Usage::default(),
            metrics: Metrics::default(),
            tasks,
            closing: CancellationToken::new(),
            pools,
        }
    }

    /// Where the manager's background work runs: a task spawned here is waited for by
    /// [`Self::close`].
    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    /// A manager running children as local processes, with the embedded presets.
    ///
    /// # Errors
    /// When the `mcp-ephemeral-k8s` binary (the bridge) cannot be found; see
    /// [`LocalBackend::locate`].
    pub fn local() -> Result<Self> {
        Ok(Self::new(
            LocalBackend::locate(&crate::backend::local::LocalSettings::default())?,
            Presets::embedded(),
            ManagerSettings::default(),
        ))
    }

    /// `local` or `kubernetes`.
    pub fn backend_kind(&self) -> &'static str {
        self.backend.kind()
    }

    /// The presets this manager knows.
    pub fn presets(&self) -> &Presets {
        &self.presets
    }

    /// The configuration of preset `name` with a caller's `runtime_args` and `env` (see
    /// [`crate::presets::Preset::configure`]).
    ///
    /// # Errors
    /// [`Error::UnknownPreset`] listing the names that exist; [`Error::InvalidInput`] for
    /// arguments the preset does not allow.
    pub fn preset_config(
        &self,
        name: &str,
        runtime_args: String,
        env: BTreeMap<String, String>,
    ) -> Result<EphemeralMcpServerConfig> {
        let preset = self.presets.get(name).ok_or_else(|| Error::UnknownPreset {
            name: name.to_owned(),
            available: self.presets.names(),
        })?;
        preset.configure(runtime_args, env).map_err(Error::from)
    }

    /// Stops a server and removes everything created for it.
    ///
    /// # Errors
    /// [`Error::JobNotFound`] for a name this manager does not know; backend errors (the
    /// server then stays listed so the delete can be retried).
    #[tracing::instrument(skip(self))]
    pub async fn delete_mcp_server(
        &self,
        job_name: &str,
        wait_for_deletion: bool,
    ) -> Result<DeletedServer> {
        let server = self
            .lock()
            .remove(job_name)
            .ok_or_else(|| Error::JobNotFound {
                job_name: job_name.to_owned(),
            })?;
        let unmounted = self.mounts.unmount_job(job_name).await;
        tracing::info!(mounts = unmounted.len(), "deleting server");
        match self.backend.delete(job_name, wait_for_deletion).await {
            Ok(removed) => {
                self.usage.forget(job_name);
                self.metrics.record_deleted();
                Ok(DeletedServer { server, removed })
            }
            Err(error) => {
                // Only a child still there is listed again: one whose Job is gone would
                // stay in the list for ever, its status "not found".
                let gone = matches!(
                    self.backend.status(job_name).await,
                    Err(Error::JobNotFound { .. })
                );
                if gone {
                    self.usage.forget(job_name);
                } else {
                    self.lock().insert(job_name.to_owned(), server);
                }
                Err(error)
            }
        }
    }

    /// The detailed state of a server.
    ///
    /// # Errors
    /// [`Error::JobNotFound`] for a name this manager does not know.
    pub async fn get_mcp_server_status(&self, job_name: &str) -> Result<ServerStatus> {
        let authorization = match self.lock().get(job_name) {
            Some(server) => server.authorization.clone(),
            None => {
                return Err(Error::JobNotFound {
                    job_name: job_name.to_owned(),
                });
            }
        };
        self.usage.touch(job_name);
        let mut status = self.backend.status(job_name).await?;
        status.mount = self.mounts.of_job(job_name);
        status.authorization = authorization;
        status.timings = self.usage.timings(job_name);
        Ok(status)
    }

    /// The servers this manager created, oldest first.
    pub fn list_mcp_servers(&self) -> Vec<EphemeralMcpServer> {
        let mut servers: Vec<_> = self.lock().values().cloned().collect();
        servers.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then(a.job_name.cmp(&b.job_name))
        });
        for server in &mut servers {
            server.mount = self.mounts.of_job(&server.job_name);
        }
        servers
    }

    /// Whether the children stay when the daemon stops (`--keep-children`, Kubernetes).
    pub fn keeps_children(&self) -> bool {
        self.settings.keep_children && self.backend.kind() != "local"
    }

    /// The MCP Registry the operator configured, if any.
    pub fn registry(&self) -> Option<&crate::registry::Registry> {
        self.settings.registry.as_ref()
    }

    /// The limits on children, mounts and calls.
    pub fn limits(&self) -> &crate::policy::Limits {
        &self.settings.policy.limits
    }

    /// The daemon's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Every metric in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let running = self.lock().len();
        let mounts = self.mounts.list(&crate::model::Principal::local());
        let connected = mounts
            .iter()
            .filter(|m| m.state == crate::model::MountState::Connected)
            .count();
        let gauges = Gauges {
            starting: self.usage.count().saturating_sub(running),
            running,
            mounts_connected: connected,
            mounts_broken: mounts.len() - connected,
            sessions: self.sessions.len(),
            pools: self.pool_sizes(),
        };
        self.metrics.render(&gauges)
    }

    /// The server called `job_name`, if this manager created it.
    pub fn get(&self, job_name: &str) -> Option<EphemeralMcpServer> {
        self.lock().get(job_name).cloned()
    }

    /// Deletes every server this manager created and its pools' members (unless told to
    /// keep them on a backend where that is possible), closes the mounts, and waits for the background tasks to
    /// finish. Call it before dropping the manager; bound it with a deadline.
    pub async fn close(&self) {
        self.closing.cancel();
        if !self.keeps_children() {
            // Kept, they are the next daemon's pool members (adopted as such).
            self.drain_pools().await;
        }
        self.mounts.close_all();
        if self.keeps_children() {
            tracing::info!(count = self.lock().len(), "keeping children running");
        } else {
            let names: Vec<String> = self.lock().keys().cloned().collect();
            let deletes = names.iter().map(|name| self.delete_mcp_server(name, false));
            for (name, result) in names.iter().zip(futures::future::join_all(deletes).await) {
                if let Err(e) = result {
                    tracing::error!(job_name = %name, cause = %e, "could not delete on shutdown");
                }
            }
        }
        self.tasks.close();
        self.tasks.wait().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, EphemeralMcpServer>> {
        crate::sync::lock(&self.servers)
    }
}

type Registry = Mutex<HashMap<String, EphemeralMcpServer>>;
