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
    let mut config = StreamableHttpServerConfig::default()
        .with_cancellation_token(options.ct.child_token())
        .with_max_request_body_bytes(options.max_body_bytes);
    config = if options.allowed_hosts.is_empty() {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(options.allowed_hosts.clone())
    };
    StreamableHttpService::new(factory, Arc::new(LocalSessionManager::default()), config)
}
