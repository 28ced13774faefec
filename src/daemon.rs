//! Running the meta-server: pick the backend, serve the chosen transport until a signal
//! (or, on stdio, until the client leaves), then drain sessions and delete children.

use std::{io, sync::Arc};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    backend::{Backend, kubernetes::KubernetesBackend, local::LocalBackend},
    config::{BackendChoice, ServeConfig, Transport},
    http::{self, HttpOptions, Readiness},
    manager::{ManagerSettings, SessionManager},
    meta::{MetaServer, MountedCalls},
    presets::Presets,
};

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The presets could not be loaded.
    #[error(transparent)]
    Presets(#[from] crate::presets::Error),
    /// The backend could not be set up.
    #[error("cannot set up the {backend} backend: {source}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// Why.
        #[source]
        source: crate::error::Error,
    },
    /// The port could not be bound.
    #[error("cannot listen on {addr}: {source}; is another process using the port? (--port)")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Serving failed.
    #[error("serving failed: {0}")]
    Serve(#[source] io::Error),
    /// A flag the chosen backend has no use for (a usage error).
    #[error("{0}")]
    NotForBackend(&'static str),
}

/// Builds the session manager for `config`: Kubernetes when asked, or with `auto` when a
/// kubeconfig or in-cluster configuration is there; local otherwise. Logs which.
///
/// # Errors
/// [`Error::Presets`] or [`Error::Backend`].
pub async fn manager(config: &ServeConfig) -> Result<SessionManager, Error> {
    let presets = Presets::load(config.presets_dir.as_deref())?;
    let settings = ManagerSettings {
        ready_timeout: config.ready_timeout,
        keep_children: config.keep_children,
        policy: config.policy.clone(),
        reserved_tools: crate::meta::TOOL_NAMES.map(String::from).to_vec(),
        pools: presets.warm_pools(&config.warm_pools, config.max_pool)?,
        registry: config.registry.clone(),
    };
    let kubernetes = match config.backend {
        BackendChoice::Kubernetes => true,
        BackendChoice::Local => false,
        BackendChoice::Auto => KubernetesBackend::configured(),
    };
    if !kubernetes && config.job.package_cache.is_some() {
        return Err(Error::NotForBackend(
            "--package-cache is for Kubernetes Jobs: on the local backend children already \
             share the daemon's package caches (one per principal)",
        ));
    }
    if kubernetes {
        let backend = KubernetesBackend::from_environment(
            config.namespace.clone(),
            config.kube_context.clone(),
            config.job.clone(),
        )
        .await
        .map_err(|source| Error::Backend {
            backend: "kubernetes",
            source,
        })?;
        let namespace = backend.namespace().unwrap_or_default().to_owned();
        tracing::info!(backend = "kubernetes", %namespace, "children run as Jobs");
        return Ok(SessionManager::new(backend, presets, settings));
    }
    let backend = LocalBackend::locate(&config.local).map_err(|source| Error::Backend {
        backend: "local",
        source,
    })?;
    let sandbox = if backend.sandboxed() {
        "bubblewrap"
    } else {
        "off"
    };
    tracing::info!(
        backend = "local",
        sandbox,
        "children run as local processes"
    );
    Ok(SessionManager::new(backend, presets, settings))
}

/// Serves the meta-server until `ct` is cancelled (or the stdio client leaves), then
/// drains and deletes the children this process created.
///
/// # Errors
/// [`Error`] when the backend, presets or port cannot be set up.
pub async fn run(config: ServeConfig, ct: CancellationToken) -> Result<(), Error> {
    if let Some(files) = http::raise_open_files_limit() {
        tracing::debug!(files, "open files limit");
    }
    if !crate::process::forbid_inspection() {
        tracing::warn!("cannot make the daemon non-dumpable; children may read its memory");
    }
    // The port first: a daemon that cannot serve touches no child.
    let listener = match config.transport {
        Transport::Stdio => None,
        Transport::Sse | Transport::Http | Transport::StreamableHttp => {
            let listener = TcpListener::bind(config.bind)
                .await
                .map_err(|source| Error::Bind {
                    addr: config.bind,
                    source,
                })?;
            Some(listener)
        }
    };
    let manager = Arc::new(manager(&config).await?);
    if !adopt(&manager, &config).await {
        // The API server may be unreachable for now: the children stay where they are, and
        // are adopted once it answers.
        let (adopter, config, ct) = (manager.clone(), config.clone(), ct.clone());
        let retrying = async move { adopt_until_done(&adopter, &config, &ct).await };
        manager.tasks().spawn(retrying);
    }
    manager.spawn_reaper();
    manager.spawn_pools();
    let served = match listener {
        None => {
            tracing::info!("serving MCP on stdin/stdout");
            if let Err(e) = http::stdio::serve(MetaServer::new(manager.clone()), ct.clone()).await {
                tracing::warn!(cause = %e, "the stdio client did not initialize");
            }
            Ok(())
        }
        Some(listener) => serve_http(listener, &config, manager.clone(), ct.clone()).await,
    };
    ct.cancel();
    tracing::info!(grace = ?config.shutdown_grace, "{}", shutdown_plan(&manager));
    if tokio::time::timeout(config.shutdown_grace, manager.close())
        .await
        .is_err()
    {
        tracing::warn!(
            "children were not all deleted, or tasks not drained, within the grace period"
        );
    } else {
        tracing::info!("shutdown complete");
    }
    served
}

/// Takes over the children a previous daemon left (and mounts again those it had mounted);
/// false when they could not be looked for.
async fn adopt(manager: &Arc<SessionManager>, config: &ServeConfig) -> bool {
    let tokens = config.guard.tokens.clone();
    match manager
        .adopt(config.gc, |owner| tokens.can_connect_as(owner))
        .await
    {
        Ok(adopted) => {
            if !adopted.is_empty() {
                tracing::info!(
                    count = adopted.len(),
                    "adopted children left by a previous daemon"
                );
                let restoring = manager.clone();
                manager
                    .tasks()
                    .spawn(async move { restoring.restore_mounts(adopted).await });
            }
            true
        }
        Err(e) => {
            tracing::warn!(cause = %e, "could not look for children left by a previous daemon; trying again in the background");
            false
        }
    }
}

/// The first pause before looking for a previous daemon's children again; it doubles up
/// to [`MAX_ADOPT_PAUSE`].
const FIRST_ADOPT_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// The longest pause between two looks.
const MAX_ADOPT_PAUSE: std::time::Duration = std::time::Duration::from_secs(30);

/// Looks for a previous daemon's children until that works, or the daemon stops.
async fn adopt_until_done(
    manager: &Arc<SessionManager>,
    config: &ServeConfig,
    ct: &CancellationToken,
) {
    let mut pause = FIRST_ADOPT_PAUSE;
    loop {
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = ct.cancelled() => return,
        }
        if adopt(manager, config).await {
            return;
        }
        pause = (pause * 2).min(MAX_ADOPT_PAUSE);
    }
}

async fn serve_http(
    listener: TcpListener,
    config: &ServeConfig,
    manager: Arc<SessionManager>,
    ct: CancellationToken,
) -> Result<(), Error> {
    let addr = listener.local_addr().map_err(Error::Serve)?;
    let options = HttpOptions {
        ct: ct.child_token(),
        cors: config.cors.clone(),
        max_body_bytes: config.max_body_bytes,
        guard: config.guard.clone(),
        sessions: config.sessions,
        // The daemon's own answers keep rmcp's streams: its clients talk to it directly.
        json_answers: false,
    };
    let metrics = metrics_route(manager.clone(), config);
    let mounted_calls = MountedCalls::layer(manager.clone());
    let rounds = Arc::new(crate::upstream::Rounds::new(manager.limits().call_timeout));
    let factory = move || Ok(MetaServer::sharing(manager.clone(), rounds.clone()));
    let router = http::router(factory, Readiness::ready(), &options, mounted_calls).merge(metrics);
    tracing::info!(%addr, "listening: streamable HTTP at http://{addr}/mcp, legacy SSE at http://{addr}/sse, health at http://{addr}/health");
    let serving = http::serve(listener, router, ct.clone(), config.listener);
    tokio::pin!(serving);
    tokio::select! {
        result = &mut serving => return result.map_err(Error::Serve),
        () = ct.cancelled() => {}
    }
    match tokio::time::timeout(config.shutdown_grace, serving).await {
        Ok(result) => result.map_err(Error::Serve),
        Err(_) => {
            tracing::warn!(grace = ?config.shutdown_grace, "open connections did not finish in time");
            Ok(())
        }
    }
}

/// `GET /metrics` (Prometheus text), behind the guard unless `--metrics-open`.
fn metrics_route(manager: Arc<SessionManager>, config: &ServeConfig) -> axum::Router {
    type Sources = (Arc<SessionManager>, Arc<http::guard::Rejections>);
    async fn render(
        axum::extract::State((manager, rejections)): axum::extract::State<Sources>,
    ) -> impl axum::response::IntoResponse {
        let content_type = "text/plain; version=0.0.4; charset=utf-8";
        let text = manager.render_metrics() + &rejections.render();
        ([(axum::http::header::CONTENT_TYPE, content_type)], text)
    }
    let route = axum::Router::new()
        .route("/metrics", axum::routing::get(render))
        .with_state((manager, config.guard.rejections.clone()));
    if config.metrics_open {
        return route;
    }
    let guard = Arc::new(config.guard.clone());
    route.layer(axum::middleware::from_fn_with_state(
        guard,
        http::guard::check,
    ))
}

/// What shutting down `manager` does, as the daemon logs it: children are deleted unless
/// `--keep-children` keeps them.
fn shutdown_plan(manager: &SessionManager) -> &'static str {
    if manager.keeps_children() {
        "draining tasks (children are kept: --keep-children)"
    } else {
        "deleting children and draining tasks"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::kubernetes::tests::{Expect, NS, backend, list, verified};
    use crate::config::ServeArgs;

    #[tokio::test]
    async fn adoption_is_tried_again_until_the_api_server_answers() {
        let job = serde_json::json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "time-1-abcdefgh", "namespace": NS}, "status": {"active": 1}});
        let jobs = format!("/apis/batch/v1/namespaces/{NS}/jobs");
        let (backend, verifier) = backend(vec![
            Expect::get(jobs.clone())
                .fail(503, "the server is currently unable to handle the request"),
            Expect::get(jobs).reply(list("JobList", vec![job])),
        ]);
        let manager = Arc::new(SessionManager::new(
            backend,
            Presets::embedded(),
            ManagerSettings::default(),
        ));
        let config = ServeConfig::from_args(&ServeArgs::default()).unwrap();
        assert!(!adopt(&manager, &config).await, "the first look fails");
        let ct = CancellationToken::new();
        adopt_until_done(&manager, &config, &ct).await;
        verified(verifier).await;
        let adopted: Vec<String> = manager
            .list_mcp_servers()
            .into_iter()
            .map(|s| s.job_name)
            .collect();
        assert_eq!(adopted, ["time-1-abcdefgh"]);
    }

    #[tokio::test]
    async fn shutdown_says_whether_children_are_deleted_or_kept() {
        for keep_children in [false, true] {
            let (backend, _verifier) = backend(vec![]);
            let settings = ManagerSettings {
                keep_children,
                ..ManagerSettings::default()
            };
            let manager = SessionManager::new(backend, Presets::embedded(), settings);
            let plan = shutdown_plan(&manager);
            assert_eq!(plan.contains("deleting children"), !keep_children, "{plan}");
            assert_eq!(plan.contains("children are kept"), keep_children, "{plan}");
        }
    }
}
