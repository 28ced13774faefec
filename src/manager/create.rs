//! Creating servers: [`SessionManager::create`] checks the request against the policy,
//! names the child, starts it on the backend and, if asked, waits until it answers; a
//! failed or abandoned creation deletes what it started.

use std::{sync::Arc, time::Duration};

use super::{MAX_READY_TIMEOUT, Registry, SessionManager, usage::Usage};
use crate::sync::lock;
use crate::{
    backend::{Backend, ChildMeta, Progress},
    error::{Error, Result},
    model::Ownership,
    model::{EphemeralMcpServer, EphemeralMcpServerConfig, naming, rfc3339, unix_now},
};

/// Options of one [`SessionManager::create`] call beyond the configuration.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Return only once the server answers MCP.
    pub wait_for_ready: bool,
    /// Make it reachable through a Service (Kubernetes backend; always true over MCP).
    pub expose_port: bool,
    /// Override [`super::ManagerSettings::ready_timeout`] for this call.
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

impl SessionManager {
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
    #[tracing::instrument(skip_all, fields(command = %crate::model::cut(&config.command_line(), 200)))]
    pub async fn create(
        &self,
        config: EphemeralMcpServerConfig,
        options: CreateOptions,
    ) -> Result<EphemeralMcpServer> {
        let began = std::time::Instant::now();
        config.validate()?;
        self.settings
            .policy
            .check(&config, options.preset.is_some())?;
        if let Some((pool, member)) = self.take_pooled(options.preset.as_deref(), &config)
            && let Some(server) = self.hand_out(&pool, member, &options).await?
        {
            self.metrics.record_create("pool", began.elapsed());
            return Ok(server);
        }
        let mut config = config;
        let trusted = options.preset.as_deref().and_then(|p| self.presets.get(p));
        let trusted = trusted.map(|p| p.config.env.clone()).unwrap_or_default();
        self.settings.policy.check_env(&config.env, &trusted)?;
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
        self.usage.admit(
            &job_name,
            options.session,
            options.ownership.owner.as_deref(),
            &self.settings.policy.limits,
        )?;
        tracing::info!(%job_name, "creating server");
        // If this future is dropped (the client went away or cancelled) before the server
        // is handed over, the guard deletes whatever was started.
        let mut guard = CreateGuard::new(self, &job_name);
        let meta = ChildMeta {
            preset: options.preset.clone(),
            ownership: options.ownership.clone(),
            ready_timeout: Some(timeout),
            pool: false,
        };
        // Its status shows the phases of its start, those reached after this call too.
        self.usage
            .record_timings(&job_name, options.progress.timings());
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
        let server = self.record(Record {
            job_name: &job_name,
            config: &config,
            endpoints,
            preset: options.preset,
            ownership: options.ownership,
            created,
        });
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
        self.metrics.record_create("fresh", began.elapsed());
        Ok(server)
    }
}

/// What a started child's record is made of.
pub(super) struct Record<'a> {
    pub job_name: &'a str,
    pub config: &'a EphemeralMcpServerConfig,
    pub endpoints: crate::backend::Endpoints,
    pub preset: Option<String>,
    pub ownership: Ownership,
    /// Seconds since the Unix epoch.
    pub created: u64,
}

impl SessionManager {
    /// The record of a started child, as create returns it: its configuration shown
    /// redacted (and, for a local child, where its bridge listens, without an image).
    pub(super) fn record(&self, record: Record<'_>) -> EphemeralMcpServer {
        let Record {
            job_name,
            config,
            endpoints,
            preset,
            ownership,
            created,
        } = record;
        let mut shown = config.redacted();
        if let Some(addr) = endpoints.listening {
            shown.host = addr.ip().to_string();
            shown.port = addr.port();
            shown.image.clear();
        }
        EphemeralMcpServer {
            job_name: job_name.to_owned(),
            config: shown,
            url: endpoints.url,
            sse_url: endpoints.sse_url,
            authorization: endpoints.authorization,
            backend: self.backend.kind().to_owned(),
            namespace: self.backend.namespace().map(str::to_owned),
            preset,
            ownership,
            created_at: rfc3339(created),
            mount: None,
        }
    }
}

/// Deletes a half-created server when [`SessionManager::create`] is abandoned (its future
/// dropped because the client disconnected or cancelled).
pub(super) struct CreateGuard<'a> {
    /// `None` once disarmed.
    backend: Option<Arc<dyn Backend>>,
    job_name: String,
    servers: &'a Registry,
    usage: &'a Usage,
    /// Where the deletion runs, so shutdown waits for it.
    tasks: &'a tokio_util::task::TaskTracker,
}

impl<'a> CreateGuard<'a> {
    /// Guards child `job_name` of `manager` until disarmed.
    pub(super) fn new(manager: &'a SessionManager, job_name: &str) -> Self {
        Self {
            backend: Some(manager.backend.clone()),
            job_name: job_name.to_owned(),
            servers: &manager.servers,
            usage: &manager.usage,
            tasks: &manager.tasks,
        }
    }

    /// The creation finished (or failed and was cleaned up): nothing to do on drop.
    pub(super) fn disarm(&mut self) {
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
        self.tasks.spawn(async move {
            if let Err(e) = backend.delete(&job_name, false).await {
                tracing::error!(%job_name, cause = %e, "cleanup of an abandoned creation failed");
            }
        });
    }
}
