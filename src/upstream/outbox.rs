//! The queue of notifications on their way to one downstream session: bounded (the oldest
//! is dropped past [`MAX_QUEUED_NOTIFICATIONS`]) and drained by the session's own task, so
//! a session that does not read costs little and never holds up the others.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use rmcp::{Peer, RoleServer, model::ServerNotification};
use tokio::sync::Notify;

use crate::sync::lock;

/// Notifications queued for one session; past it the oldest is dropped, so a session that
/// does not read costs at most this many and never holds up the others.
pub const MAX_QUEUED_NOTIFICATIONS: usize = 256;

/// The notifications on their way to one session, sent in order by its own task.
#[derive(Default)]
pub struct Outbox {
    queue: Mutex<VecDeque<ServerNotification>>,
    ready: Notify,
    closed: AtomicBool,
    /// Notifications dropped because the session did not keep up.
    dropped: AtomicU64,
}

impl Outbox {
    pub fn push(&self, notification: ServerNotification) {
        let mut queue = lock(&self.queue);
        if queue.len() == MAX_QUEUED_NOTIFICATIONS {
            queue.pop_front();
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::debug!(
                    dropped,
                    "a session is not reading its stream; oldest notifications dropped"
                );
            }
        }
        queue.push_back(notification);
        drop(queue);
        self.ready.notify_one();
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.ready.notify_one();
    }

    /// Sends what is queued to `peer`, in order, until the session goes.
    pub async fn deliver(self: Arc<Self>, peer: Peer<RoleServer>) {
        loop {
            let next = lock(&self.queue).pop_front();
            match next {
                Some(notification) => {
                    if peer.send_notification(notification).await.is_err() {
                        return;
                    }
                }
                None if self.closed.load(Ordering::Acquire) => return,
                None => self.ready.notified().await,
            }
        }
    }
}

/// Queues `notification` for every outbox; returns at once.
pub fn send_all(outboxes: &[Arc<Outbox>], notification: &ServerNotification) {
    for outbox in outboxes {
        outbox.push(notification.clone());
    }
}
