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

use rmcp::{
    Peer, RoleServer,
    model::ServerNotification,
    service::{SubscriptionSendError, SubscriptionSink},
};
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

    /// Sends the queued notifications to `to`, in order, until the outbox is closed and
    /// empty or the recipient is gone.
    pub async fn deliver(self: Arc<Self>, to: Recipient) {
        loop {
            let next = lock(&self.queue).pop_front();
            match next {
                Some(notification) => {
                    if to.send(notification).await.is_err() {
                        return;
                    }
                }
                None if self.closed.load(Ordering::Acquire) => return,
                None => self.ready.notified().await,
            }
        }
    }
}

/// Where an outbox's notifications go.
#[derive(Clone)]
pub enum Recipient {
    /// A session that completed `initialize` (before 2026-07-28): everything it is sent.
    Session(Peer<RoleServer>),
    /// A `subscriptions/listen` stream (2026-07-28): the notifications its filter accepts,
    /// tagged with its subscription id; the others are skipped.
    Listener(SubscriptionSink),
}

/// The recipient is gone.
struct Gone;

impl Recipient {
    async fn send(&self, notification: ServerNotification) -> Result<(), Gone> {
        match self {
            Self::Session(peer) => peer.send_notification(notification).await.map_err(|_| Gone),
            Self::Listener(sink) => match sink.send(notification).await {
                Ok(())
                | Err(
                    SubscriptionSendError::NotificationNotAccepted(_)
                    | SubscriptionSendError::UnsupportedNotification(_),
                ) => Ok(()),
                Err(_) => Err(Gone),
            },
        }
    }
}

/// Queues `notification` for every outbox; returns at once.
pub fn send_all(outboxes: &[Arc<Outbox>], notification: &ServerNotification) {
    for outbox in outboxes {
        outbox.push(notification.clone());
    }
}
