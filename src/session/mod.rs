//! [`SessionManager`]: the library's entry point, one per backend. It validates requests,
//! names children, keeps the registry of the servers this process created and their
//! mounts ([`mounting`]), and deletes them on [`SessionManager::close`].

mod mounting;
mod reaper;
mod usage;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::{
    access::Ownership,
    backend::{Backend, ChildMeta, Progress, local::LocalBackend},
    error::{Error, Result},
    metrics::{Gauges, Metrics},
    model::{
        DeletedServer, EphemeralMcpServer, EphemeralMcpServerConfig, ServerStatus, naming, rfc3339,
        unix_now,
    },
    mount::Mounts,
    policy::Policy,
    presets::Presets,
    proxy::Sessions,
};
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
}

impl Default for ManagerSettings {
    fn default() -> Self {
        Self {
            ready_timeout: DEFAULT_READY_TIMEOUT,
            keep_children: false,
            policy: Policy::default(),
        }
    }
}

/// Options of one [`SessionManager::create`] call beyond the configuration.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Return only once the server answers MCP.
    pub wait_for_ready: bool,
    /// Make it reachable through a Service (Kubernetes backend; always true over MCP).
    pub expose_port: bool,
    /// Override [`ManagerSettings::ready_timeout`] for this call.
    pub ready_timeout: Option<Duration>,
    /// The preset the configuration came from, for display.
    pub preset: Option<String>,
    /// Who may see and use it (by default: everyone, as for the library API).
    pub ownership: Ownership,
    /// The client session creating it, for `max_servers_per_session`.
    pub session: Option<u64>,
    /// Where to report steps while starting.
    pub progress: Progress,
}

/// Creates, tracks and deletes ephemeral MCP servers on one backend.
pub struct SessionManager {
    backend: Arc<dyn Backend>,
    presets: Presets,
    settings: ManagerSettings,
    /// Servers created by this process, by name. A std mutex: no await while held.
    servers: Registry,
    /// The meta-server's client sessions (for `list_changed` and relayed notifications).
    sessions: Arc<Sessions>,
    /// Servers mounted on the meta-server.
    mounts: Mounts,
    /// The children counted against the limits, and their use.
    usage: Usage,
    /// Counters for `/metrics`.
    metrics: Metrics,
}

impl SessionManager {
    /// A manager running children on `backend`.
    pub fn new(backend: impl Backend, presets: Presets, settings: ManagerSettings) -> Self {
        let sessions = Arc::new(Sessions::default());
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let reserved = crate::meta::TOOL_NAMES.map(String::from).to_vec();
        Self {
            backend: Arc::new(backend),
            presets,
            servers: Mutex::default(),
            mounts: Mounts::new(
                sessions.clone(),
                instance,
                reserved,
                settings.policy.limits.clone(),
            ),
            settings,
            sessions,
            usage: Usage::default(),
            metrics: Metrics::default(),
        }
    }

    /// A manager running children as local processes, with the embedded presets.
    ///
    /// # Errors
    /// When the `mcp-ephemeral-k8s` binary (the bridge) cannot be found; see
    /// [`LocalBackend::locate`].
    pub fn local() -> Result<Self> {
        Ok(Self::new(
            LocalBackend::locate()?,
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

    /// The configuration of preset `name`.
    ///
    /// # Errors
    /// [`Error::UnknownPreset`] listing the names that exist.
    pub fn preset_config(&self, name: &str) -> Result<EphemeralMcpServerConfig> {
        self.presets
            .get(name)
            .map(|p| p.config.clone())
            .ok_or_else(|| Error::UnknownPreset {
                name: name.to_owned(),
                available: self.presets.names(),
            })
    }

    /// Starts a server, as the Python original's `create_mcp_server`.
    ///
    /// # Errors
    /// See [`Self::create`].
    pub async fn create_mcp_server(
        &self,
        config: EphemeralMcpServerConfig,
        wait_for_ready: bool,
        expose_port: bool,
    ) -> Result<EphemeralMcpServer> {
        let options = CreateOptions {
            wait_for_ready,
            expose_port,
            ..CreateOptions::default()
        };
        self.create(config, options).await
    }

    /// Starts a server. When waiting fails, the server is deleted before the error returns.
    ///
    /// # Errors
    /// Invalid input ([`Error::InvalidRuntime`], [`Error::InvalidInput`]), what the policy
    /// refuses ([`Error::NotAllowed`], [`Error::LimitReached`]: nothing is started), a failed start
    /// ([`Error::Job`] with the server's log tail), or [`Error::JobTimeout`].
    #[tracing::instrument(skip_all, fields(command = %config.command_line()))]
    pub async fn create(
        &self,
        config: EphemeralMcpServerConfig,
        options: CreateOptions,
    ) -> Result<EphemeralMcpServer> {
        config.validate()?;
        self.settings
            .policy
            .check(&config, options.preset.is_some())?;
        let mut config = config;
        let trusted = options.preset.as_deref().and_then(|p| self.presets.get(p));
        let trusted = trusted.map(|p| p.config.env.clone()).unwrap_or_default();
        self.settings
            .policy
            .secrets
            .resolve(&mut config.env, &trusted, |var| std::env::var(var).ok())?;
        let timeout = match options.ready_timeout {
            Some(t) if t.is_zero() || t > MAX_READY_TIMEOUT => {
                return Err(Error::invalid(
                    "ready_timeout_secs",
                    format!("must be between 1 and {}", MAX_READY_TIMEOUT.as_secs()),
                ));
            }
            Some(t) => t,
            None => self.settings.ready_timeout,
        };
        let created = unix_now();
        let job_name = naming::generate(config.name_source(), created);
        self.usage
            .admit(&job_name, options.session, &self.settings.policy.limits)?;
        tracing::info!(%job_name, "creating server");
        // If this future is dropped (the client went away or cancelled) before the server
        // is handed over, the guard deletes whatever was started.
        let mut guard = CreateGuard {
            backend: Some(self.backend.clone()),
            job_name: job_name.clone(),
            servers: &self.servers,
            usage: &self.usage,
        };
        let meta = ChildMeta {
            preset: options.preset.clone(),
            ownership: options.ownership.clone(),
        };
        let created_endpoints = self
            .backend
            .create(&job_name, &config, &meta, &options.progress)
            .await;
        let endpoints = match created_endpoints {
            Ok(endpoints) => endpoints,
            Err(error) => {
                // The backend cleaned up after itself.
                guard.disarm();
                self.usage.forget(&job_name);
                return Err(error);
            }
        };
        let server = EphemeralMcpServer {
            job_name: job_name.clone(),
            config: config.redacted(),
            url: endpoints.url,
            sse_url: endpoints.sse_url,
            backend: self.backend.kind().to_owned(),
            namespace: self.backend.namespace().map(str::to_owned),
            preset: options.preset,
            ownership: options.ownership,
            created_at: rfc3339(created),
            mount: None,
        };
        self.lock().insert(job_name.clone(), server.clone());
        if options.wait_for_ready {
            tracing::info!(%job_name, ?timeout, "waiting for ready");
            let ready = self
                .backend
                .wait_ready(&job_name, timeout, &options.progress)
                .await;
            if let Err(error) = ready {
                tracing::warn!(%job_name, cause = %error, "server failed to become ready; deleting it");
                guard.disarm();
                self.lock().remove(&job_name);
                self.usage.forget(&job_name);
                if let Err(e) = self.backend.delete(&job_name, false).await {
                    tracing::error!(%job_name, cause = %e, "cleanup after a failed start failed");
                }
                return Err(error);
            }
            tracing::info!(%job_name, "server ready");
        }
        guard.disarm();
        self.metrics.record_created();
        Ok(server)
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
                self.lock().insert(job_name.to_owned(), server);
                Err(error)
            }
        }
    }

    /// The detailed state of a server.
    ///
    /// # Errors
    /// [`Error::JobNotFound`] for a name this manager does not know.
    pub async fn get_mcp_server_status(&self, job_name: &str) -> Result<ServerStatus> {
        if !self.lock().contains_key(job_name) {
            return Err(Error::JobNotFound {
                job_name: job_name.to_owned(),
            });
        }
        self.usage.touch(job_name);
        let mut status = self.backend.status(job_name).await?;
        status.mount = self.mounts.of_job(job_name);
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

    /// The daemon's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Every metric in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let running = self.lock().len();
        let mounts = self.mounts.list(&crate::access::Principal::local());
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
        };
        self.metrics.render(&gauges)
    }

    /// The server called `job_name`, if this manager created it.
    pub fn get(&self, job_name: &str) -> Option<EphemeralMcpServer> {
        self.lock().get(job_name).cloned()
    }

    /// Deletes every server this manager created (unless told to keep them on a backend
    /// where that is possible). Call it before dropping the manager.
    pub async fn close(&self) {
        self.mounts.close_all();
        if self.settings.keep_children && self.backend.kind() != "local" {
            tracing::info!(count = self.lock().len(), "keeping children running");
            return;
        }
        let names: Vec<String> = self.lock().keys().cloned().collect();
        let deletes = names.iter().map(|name| self.delete_mcp_server(name, false));
        for (name, result) in names.iter().zip(futures::future::join_all(deletes).await) {
            if let Err(e) = result {
                tracing::error!(job_name = %name, cause = %e, "could not delete on shutdown");
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, EphemeralMcpServer>> {
        lock(&self.servers)
    }
}

type Registry = Mutex<HashMap<String, EphemeralMcpServer>>;

fn lock(servers: &Registry) -> std::sync::MutexGuard<'_, HashMap<String, EphemeralMcpServer>> {
    servers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Deletes a half-created server when [`SessionManager::create`] is abandoned (its future
/// dropped because the client disconnected or cancelled).
struct CreateGuard<'a> {
    /// `None` once disarmed.
    backend: Option<Arc<dyn Backend>>,
    job_name: String,
    servers: &'a Registry,
    usage: &'a Usage,
}

impl CreateGuard<'_> {
    /// The creation finished (or failed and was cleaned up): nothing to do on drop.
    fn disarm(&mut self) {
        self.backend = None;
    }
}

impl Drop for CreateGuard<'_> {
    fn drop(&mut self) {
        let Some(backend) = self.backend.take() else {
            return;
        };
        lock(self.servers).remove(&self.job_name);
        self.usage.forget(&self.job_name);
        let job_name = std::mem::take(&mut self.job_name);
        tracing::info!(%job_name, "creation abandoned; deleting the server");
        tokio::spawn(async move {
            if let Err(e) = backend.delete(&job_name, false).await {
                tracing::error!(%job_name, cause = %e, "cleanup of an abandoned creation failed");
            }
        });
    }
}
