//! `/mcp`: streamable HTTP (protocol 2025-03-26 and later) on rmcp's service.

use std::{io, sync::Arc};

use rmcp::{
    ServerHandler,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};

use super::HttpOptions;

/// The tower service for `/mcp`, one handler per session from `factory`, and its
/// sessions (closed when idle or not initialized in time, per `options.sessions`).
pub fn service<H, F>(
    factory: F,
    options: &HttpOptions,
) -> (
    StreamableHttpService<H, LocalSessionManager>,
    Arc<LocalSessionManager>,
)
where
    H: ServerHandler,
    F: Fn() -> io::Result<H> + Send + Sync + 'static,
{
    // Host and Origin are checked by the guard in front of every MCP route.
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(options.ct.child_token())
        .with_max_request_body_bytes(options.max_body_bytes)
        .disable_allowed_hosts();
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(options.sessions.idle_timeout);
    sessions.session_config.init_timeout = Some(options.sessions.init_timeout);
    let sessions = Arc::new(sessions);
    let service = StreamableHttpService::new(factory, sessions.clone(), config);
    (service, sessions)
}
