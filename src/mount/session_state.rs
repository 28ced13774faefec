//! What clients set up on a mount's session — the log level and the resource subscriptions —
//! passed on to its server, and set up again on the new session after a reconnect, so that
//! `resources/updated` and log messages keep arriving after a child restarts.

#![expect(
    deprecated,
    reason = "logging and subscriptions are part of 2025-11-25, which we relay"
)]

use std::collections::BTreeSet;

use rmcp::model::{SetLevelRequestParams, SubscribeRequestParams};

use super::Mount;
use crate::upstream::{ClientSessions, Upstream};

/// The server's URIs the mount is subscribed to on behalf of its clients.
#[derive(Default)]
pub struct Subscriptions(std::sync::Mutex<BTreeSet<String>>);

impl Mount {
    /// Records that the server was asked to send updates of its resource `uri`.
    pub fn note_subscribed(&self, uri: &str) {
        crate::sync::lock(&self.subscriptions.0).insert(uri.to_owned());
    }

    /// Records that no client wants updates of the server's resource `uri` any more.
    pub fn note_unsubscribed(&self, uri: &str) {
        crate::sync::lock(&self.subscriptions.0).remove(uri);
    }

    /// Asks the server (when it logs) for the least severe level that a client who may see
    /// this mount asked for: each such client then gets what it asked for, filtered to its
    /// own level, and no client's choice narrows what another receives.
    pub async fn pass_log_level(&self, sessions: &ClientSessions) {
        let Ok(upstream) = self.upstream() else {
            return;
        };
        self.send_log_level(&upstream, sessions).await;
    }

    async fn send_log_level(&self, upstream: &Upstream, sessions: &ClientSessions) {
        let Some(level) = sessions.log_level_for(&self.ownership) else {
            return;
        };
        if upstream.info().capabilities.logging.is_none() {
            return;
        }
        let params = SetLevelRequestParams::new(level);
        if let Err(e) = upstream.peer().set_level(params).await {
            tracing::debug!(mount = %self.label(), cause = %e, "setLevel not passed on");
        }
    }

    /// Sets up again, on the new session `upstream`, the log level and subscriptions that
    /// clients had asked for.
    pub(super) async fn restore(&self, upstream: &Upstream, sessions: &ClientSessions) {
        self.send_log_level(upstream, sessions).await;
        let uris: Vec<String> = crate::sync::lock(&self.subscriptions.0)
            .iter()
            .cloned()
            .collect();
        for uri in uris {
            let params = SubscribeRequestParams::new(uri.clone());
            if let Err(e) = upstream.peer().subscribe(params).await {
                tracing::warn!(mount = %self.label(), %uri, cause = %e, "could not subscribe again after reconnecting");
            }
        }
    }
}
