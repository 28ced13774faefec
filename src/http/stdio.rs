//! MCP on stdin/stdout (`--transport stdio`): one session, for clients that start the
//! daemon as a subprocess (Claude Desktop, IDEs). Logs go to stderr.

use rmcp::{ServerHandler, ServiceExt};
use tokio_util::sync::CancellationToken;

/// Serves `handler` on stdin/stdout until the client closes stdin or `ct` is cancelled.
///
/// # Errors
/// When the client does not complete `initialize`.
pub async fn serve<H: ServerHandler>(
    handler: H,
    ct: CancellationToken,
) -> Result<(), rmcp::service::ServerInitializeError> {
    let running = handler
        .serve_with_ct(rmcp::transport::stdio(), ct.child_token())
        .await?;
    tokio::select! {
        _ = running.waiting() => tracing::info!("stdio client disconnected"),
        () = ct.cancelled() => {}
    }
    Ok(())
}
