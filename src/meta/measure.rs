//! Every tool call in a span with an id of its own (to find its log lines), its outcome
//! logged and counted in the metrics: meta tools by name, mounted ones together.

use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::{ErrorData as McpError, model::CallToolResponse};
use tracing::Instrument;

use crate::{manager::SessionManager, metrics::CallOutcome};

/// Runs the tool call `call` of `who` on `session` in a span with a request id (to find
/// its log lines), logs how it ended and counts it in the metrics: meta tools by name,
/// mounted ones together.
pub(super) async fn measured(
    manager: &SessionManager,
    session: u64,
    tool: &str,
    meta_tool: bool,
    who: &crate::model::Principal,
    call: impl Future<Output = Result<CallToolResponse, McpError>>,
) -> Result<CallToolResponse, McpError> {
    let started = std::time::Instant::now();
    let span = tracing::info_span!(
        "mcp_call",
        request_id = next_request_id(),
        session,
        tool = %crate::model::cut(tool, 100),
        principal = %who,
    );
    let result = call.instrument(span.clone()).await;
    let outcome = match &result {
        Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => CallOutcome::Error,
        Ok(_) => CallOutcome::Ok,
        Err(_) => CallOutcome::Error,
    };
    let elapsed = started.elapsed();
    let label = if meta_tool { tool } else { "mounted" };
    manager.metrics().record_call(label, outcome, elapsed);
    span.in_scope(|| {
        tracing::debug!(
            ?outcome,
            elapsed_ms = elapsed.as_secs_f64() * 1e3,
            "call finished"
        )
    });
    result
}

/// A new id for a tool call, unique in this process, to find its log lines.
fn next_request_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
