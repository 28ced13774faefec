//! Reaping: children unused for `--idle-ttl` or older than `--max-lifetime` are unmounted
//! and deleted.

use std::{
    sync::{Arc, Weak},
    time::{Duration, Instant},
};

use super::{SessionManager, usage::Expiry};
use crate::{
    access::{Action, Outcome, audit},
    model::Principal,
};

/// The longest pause between two checks.
const MAX_PERIOD: Duration = Duration::from_secs(30);

/// The shortest pause between two checks.
const MIN_PERIOD: Duration = Duration::from_millis(100);

impl SessionManager {
    /// Deletes (after unmounting) every child past `--idle-ttl` or `--max-lifetime`.
    /// Returns the names of those deleted.
    pub async fn reap_expired(&self) -> Vec<String> {
        let limits = &self.settings.policy.limits;
        let expired = self
            .usage
            .expired(limits, Instant::now(), |job| self.mounts.last_used(job));
        let reaper = Principal::reaper();
        let mut reaped = Vec::new();
        for (job_name, why) in expired {
            tracing::info!(%job_name, reason = %why, "deleting an expired server");
            match self.delete_mcp_server(&job_name, false).await {
                Ok(_) => {
                    self.metrics.record_reaped(why == Expiry::Idle);
                    audit(
                        &reaper,
                        Action::Delete,
                        &job_name,
                        Outcome::Allowed,
                        &why.to_string(),
                    );
                    reaped.push(job_name);
                }
                Err(e) => {
                    audit(
                        &reaper,
                        Action::Delete,
                        &job_name,
                        Outcome::Failed,
                        &e.to_string(),
                    );
                }
            }
        }
        reaped
    }

    /// Checks for expired children in the background until the manager closes (nothing
    /// to do without `--idle-ttl` or `--max-lifetime`); a round that has begun deleting
    /// finishes before the manager's close completes.
    pub fn spawn_reaper(self: &Arc<Self>) {
        let limits = &self.settings.policy.limits;
        let shortest = [limits.idle_ttl, limits.max_lifetime]
            .into_iter()
            .flatten()
            .min();
        let Some(shortest) = shortest else { return };
        let period = (shortest / 4).clamp(MIN_PERIOD, MAX_PERIOD);
        let manager: Weak<Self> = Arc::downgrade(self);
        let closing = self.closing.clone();
        self.tasks.spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = closing.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                let Some(manager) = manager.upgrade() else {
                    return;
                };
                manager.reap_expired().await;
            }
        });
    }
}
