//! Turns a [`Progress`] channel into MCP progress and logging notifications for the client
//! whose request is slow, so its UI shows a live bar and log.

#![expect(deprecated, reason = "logging is part of 2025-11-25, which we serve")]

use std::time::Duration;

use rmcp::{
    Peer, RoleServer,
    model::{
        LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam, ProgressToken,
    },
};
use tokio::{sync::mpsc::UnboundedReceiver, task::JoinHandle};

/// How often a waiting client hears that the wait goes on, when nothing else happened.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Name used as the `logger` of log notifications.
const LOGGER: &str = "mcp-ephemeral-k8s";

/// Relays progress messages to `peer` until the channel closes: as progress notifications
/// when the client sent a `progressToken`, and as `info` log messages when `log` is set.
pub fn relay(
    mut messages: UnboundedReceiver<String>,
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
    log: bool,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let mut step = 0u32;
        let mut heartbeat = tokio::time::interval_at(started + HEARTBEAT, HEARTBEAT);
        loop {
            let message = tokio::select! {
                message = messages.recv() => match message {
                    Some(message) => message,
                    None => return,
                },
                _ = heartbeat.tick() => format!("still waiting ({}s)", started.elapsed().as_secs()),
            };
            step += 1;
            if let Some(token) = &token {
                let mut params = ProgressNotificationParam::new(token.clone(), f64::from(step));
                params.message = Some(message.clone());
                if peer.notify_progress(params).await.is_err() {
                    return;
                }
            }
            if log {
                let params =
                    LoggingMessageNotificationParam::new(LoggingLevel::Info, message.into())
                        .with_logger(LOGGER);
                let _ = peer.notify_logging_message(params).await;
            }
        }
    })
}
