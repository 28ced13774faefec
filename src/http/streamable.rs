//! `/mcp`: streamable HTTP (protocol 2025-03-26 and later) on rmcp's service.

use std::{io, sync::Arc};

use rmcp::{
    ServerHandler,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};

use super::HttpOptions;

/// The tower service for `/mcp`, one handler per session from `factory`.
pub fn service<H, F>(
    factory: F,
    options: &HttpOptions,
) -> StreamableHttpService<H, LocalSessionManager>
where
    H: ServerHandler,
    F: Fn() -> io::Result<H> + Send + Sync + 'static,
{
    // Host and Origin are checked by the guard in front of every MCP route.
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(options.ct.child_token())
        .with_max_request_body_bytes(options.max_body_bytes)
        .disable_allowed_hosts();
    StreamableHttpService::new(factory, Arc::new(LocalSessionManager::default()), config)
}
