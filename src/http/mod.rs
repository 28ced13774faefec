//! The HTTP and stdio front of an MCP handler: one axum router serving `GET /health`,
//! legacy SSE (`GET /sse` + `POST /messages/`) and streamable HTTP (`/mcp`), used by both
//! the daemon (serving the meta tools) and the bridge (serving one child).
//!
//! Parts: [`answers`] (answers a client can act on where rmcp's would not), [`cors`] (the
//! `--allow-origins` policy), [`guard`] (authentication and
//! `Host`/`Origin`), [`session_owner`] (a `/mcp` session answers only its principal), [`streamable`] (`/mcp` on rmcp), [`stdio`] (the same handler on
//! stdin/stdout), and [`shutdown_signal`]. It knows nothing of what it serves: the caller
//! hands it the handler factory and, optionally, a layer in front of the MCP routes.

pub mod answers;
pub mod cors;
pub mod guard;
pub mod json_answers;
pub mod listener;
pub mod priming;
pub mod session_owner;
pub mod stdio;
pub mod streamable;

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{Route, get},
};
use rmcp::ServerHandler;
use tokio_util::sync::CancellationToken;
pub use tower::layer::util::Identity;
use tower::{Layer, Service};
use tower_http::trace::TraceLayer;

pub use crate::model::SessionLimits;
pub use cors::CorsPolicy;
pub use guard::{Guard, Tokens};
pub use listener::{ListenerLimits, raise_open_files_limit, serve};

/// Default cap on one HTTP request body: far above any sane tool call, far below what
/// would hurt the daemon.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How the HTTP endpoints behave.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Cancelled on shutdown: ends every session and stream.
    pub ct: CancellationToken,
    /// Which browser origins may call the endpoints.
    pub cors: CorsPolicy,
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
    /// Authentication and `Host`/`Origin` checks of the MCP routes.
    pub guard: Guard,
    /// Caps and timeouts of the MCP sessions.
    pub sessions: SessionLimits,
    /// Whether `/mcp` answers that need no stream go as plain JSON (a bridge's, for proxies
    /// in between; see [`json_answers`]).
    pub json_answers: bool,
}

impl HttpOptions {
    /// Options for a server bound to `addr`, without authentication: loopback binds accept
    /// only loopback `Host` headers; other binds accept any, since Kubernetes Services and
    /// proxies use names that cannot be known here.
    pub fn for_bind(addr: SocketAddr, ct: CancellationToken) -> Self {
        Self {
            ct,
            cors: CorsPolicy::Off,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            guard: Guard {
                allowed_hosts: default_allowed_hosts(addr),
                ..Guard::default()
            },
            sessions: SessionLimits::default(),
            json_answers: false,
        }
    }
}

/// The `Host` values a server bound to `addr` accepts by default: loopback names for a
/// loopback bind (a browser tricked by DNS rebinding sends another name), any otherwise.
pub fn default_allowed_hosts(addr: SocketAddr) -> Vec<String> {
    if addr.ip().is_loopback() {
        ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec()
    } else {
        Vec::new()
    }
}

/// Whether the MCP server behind the routes can take requests yet. `/health` answers 503
/// and the MCP routes refuse until it is set.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Already ready (the daemon's own handler needs no start-up).
    pub fn ready() -> Self {
        let readiness = Self::default();
        readiness.set_ready();
        readiness
    }

    /// Marks the server ready.
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether the server is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The router serving `/health`, `/sse`, `/messages/` and `/mcp` with handlers from
/// `factory` (one handler per client session). `front` (e.g. [`Identity`]) sees every
/// request to the MCP routes after the guard, the readiness check and the body limit, and
/// before the handlers: it may answer a request itself or pass it on.
pub fn router<H, F, L>(factory: F, readiness: Readiness, options: &HttpOptions, front: L) -> Router
where
    H: ServerHandler,
    F: Fn() -> io::Result<H> + Clone + Send + Sync + 'static,
    L: Layer<Route> + Clone + Send + Sync + 'static,
    L::Service: Service<Request> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request>>::Response: IntoResponse + 'static,
    <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
    <L::Service as Service<Request>>::Future: Send + 'static,
{
    let (mcp_service, mcp_sessions) = streamable::service(factory.clone(), options);
    let owners = session_owner::SessionOwners::new(options.sessions, mcp_sessions);
    let streamable =
        Router::new()
            .nest_service("/mcp", mcp_service)
            .layer(middleware::from_fn_with_state(
                options.json_answers,
                answers::streamable,
            ));
    let mcp = streamable
        .merge(crate::sse::server::router(
            factory,
            options.ct.clone(),
            options.sessions,
        ))
        .layer(front)
        // Outside `front`, so whatever answers `/mcp` sees only the session's own principal.
        .layer(middleware::from_fn_with_state(owners, session_owner::bind))
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        // Bodies read without an extractor (the legacy SSE POST) are limited too.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            options.max_body_bytes,
        ))
        .layer(middleware::from_fn_with_state(
            options.max_body_bytes,
            answers::too_large,
        ))
        .layer(middleware::from_fn_with_state(
            readiness.clone(),
            refuse_until_ready,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::new(options.guard.clone()),
            guard::check,
        ));
    let mut router = Router::new()
        .route("/health", get(health).with_state(readiness))
        .merge(mcp)
        .layer(TraceLayer::new_for_http());
    if let Some(cors) = options.cors.layer() {
        router = router.layer(cors);
    }
    router
}

async fn health(State(readiness): State<Readiness>) -> Response {
    if readiness.is_ready() {
        ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "OK").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting").into_response()
    }
}

async fn refuse_until_ready(
    State(readiness): State<Readiness>,
    request: Request,
    next: Next,
) -> Response {
    if readiness.is_ready() {
        next.run(request).await
    } else {
        let text = "the MCP server is still starting; retry when GET /health answers 200";
        (StatusCode::SERVICE_UNAVAILABLE, text).into_response()
    }
}

/// Waits for SIGINT or SIGTERM (Kubernetes stops pods with SIGTERM).
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::error!(cause = %e, "cannot listen for SIGTERM; only Ctrl-C will stop");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received, shutting down"),
        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
    }
}
