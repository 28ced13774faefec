//! The client sessions connected to one of our servers (the bridge or the meta-server),
//! for notifications that go to all of them or to the subscribers of a resource.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use tokio::sync::Notify;

use rmcp::{Peer, RoleServer, model::ServerNotification};

use crate::model::{Ownership, Principal};
use crate::sync::lock;

/// One connected session: its client, its principal, and its outbox.
type Session = (Peer<RoleServer>, Principal, Arc<Outbox>);

/// Connected client sessions. Every lock is a `std::sync::Mutex` that is never held
/// across an `.await` (peers are cloned out before sending).
#[derive(Default)]
pub struct ClientSessions {
    next_id: AtomicU64,
    /// ClientSessions that finished `initialize`, by id, with the principal that opened
    /// them and the queue of notifications on their way to them.
    peers: Mutex<HashMap<u64, Session>>,
    /// Resource URI (as the sessions see it) → sessions subscribed to it.
    subscriptions: Mutex<HashMap<String, Vec<u64>>>,
    /// The sessions on streamable HTTP, by their `Mcp-Session-Id`, so a request can be
    /// matched to its session before rmcp sees it.
    by_http_id: Mutex<HashMap<String, u64>>,
}

impl ClientSessions {
    /// A fresh session id.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a session of `principal` that completed `initialize`; `http_id` is its
    /// `Mcp-Session-Id` when it is on streamable HTTP. A session registers once: a repeated
    /// `notifications/initialized` (from anyone) changes nothing.
    pub fn register(
        &self,
        session: u64,
        peer: Peer<RoleServer>,
        principal: Principal,
        http_id: Option<&str>,
    ) {
        let mut peers = lock(&self.peers);
        if peers.contains_key(&session) {
            return;
        }
        let outbox = Arc::new(Outbox::default());
        tokio::spawn(outbox.clone().deliver(peer.clone()));
        peers.insert(session, (peer, principal, outbox));
        drop(peers);
        if let Some(http_id) = http_id {
            lock(&self.by_http_id).insert(http_id.to_owned(), session);
        }
    }

    /// The session whose `Mcp-Session-Id` is `http_id`, and its client.
    pub fn by_http_id(&self, http_id: &str) -> Option<(u64, Peer<RoleServer>)> {
        let session = *lock(&self.by_http_id).get(http_id)?;
        let peer = lock(&self.peers).get(&session)?.0.clone();
        Some((session, peer))
    }

    /// Forgets a session and its subscriptions.
    pub fn unregister(&self, session: u64) {
        if let Some((_, _, outbox)) = lock(&self.peers).remove(&session) {
            outbox.close();
        }
        lock(&self.by_http_id).retain(|_, s| *s != session);
        lock(&self.subscriptions).retain(|_, subscribers| {
            subscribers.retain(|s| *s != session);
            !subscribers.is_empty()
        });
    }

    /// How many sessions are connected.
    pub fn len(&self) -> usize {
        lock(&self.peers).len()
    }

    /// Whether no session is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sends a notification to every connected session.
    pub async fn broadcast(&self, notification: ServerNotification) {
        self.broadcast_to(&Ownership::default(), notification).await;
    }

    /// Sends a notification to the sessions whose principal `ownership` allows (e.g. a
    /// mounted child's log messages go to those who may use the child).
    pub async fn broadcast_to(&self, ownership: &Ownership, notification: ServerNotification) {
        self.broadcast_to_any(std::slice::from_ref(ownership), notification)
            .await;
    }

    /// Sends a notification to the sessions whose principal one of `ownerships` allows.
    pub async fn broadcast_to_any(
        &self,
        ownerships: &[Ownership],
        notification: ServerNotification,
    ) {
        let outboxes: Vec<_> = lock(&self.peers)
            .values()
            .filter(|(_, principal, _)| ownerships.iter().any(|o| o.allows(principal)))
            .map(|(_, _, outbox)| outbox.clone())
            .collect();
        send_all(&outboxes, &notification);
    }

    /// Records that `session` subscribed to `uri`.
    pub fn subscribe(&self, session: u64, uri: &str) {
        let mut subscriptions = lock(&self.subscriptions);
        let subscribers = subscriptions.entry(uri.to_owned()).or_default();
        if !subscribers.contains(&session) {
            subscribers.push(session);
        }
    }

    /// Removes `session`'s subscription to `uri`; true when nobody is subscribed any more.
    pub fn unsubscribe(&self, session: u64, uri: &str) -> bool {
        let mut subscriptions = lock(&self.subscriptions);
        let Some(subscribers) = subscriptions.get_mut(uri) else {
            return true;
        };
        subscribers.retain(|s| *s != session);
        let empty = subscribers.is_empty();
        if empty {
            subscriptions.remove(uri);
        }
        empty
    }

    /// Sends a notification to the sessions subscribed to `uri` whose principal
    /// `ownership` (the mount's that sent it) allows: another principal's session that
    /// subscribed to the same URI at a mount of its own does not get it.
    pub async fn notify_subscribers(
        &self,
        uri: &str,
        ownership: &Ownership,
        notification: ServerNotification,
    ) {
        let ids = lock(&self.subscriptions)
            .get(uri)
            .cloned()
            .unwrap_or_default();
        let outboxes: Vec<_> = {
            let peers = lock(&self.peers);
            let subscribed = ids.iter().filter_map(|id| peers.get(id));
            let allowed = subscribed.filter(|(_, principal, _)| ownership.allows(principal));
            allowed.map(|(_, _, outbox)| outbox.clone()).collect()
        };
        send_all(&outboxes, &notification);
    }
}

/// Notifications queued for one session; past it the oldest is dropped, so a session that
/// does not read costs at most this many and never holds up the others.
pub const MAX_QUEUED_NOTIFICATIONS: usize = 256;

/// The notifications on their way to one session, sent in order by its own task.
#[derive(Default)]
struct Outbox {
    queue: Mutex<VecDeque<ServerNotification>>,
    ready: Notify,
    closed: AtomicBool,
    /// Notifications dropped because the session did not keep up.
    dropped: AtomicU64,
}

impl Outbox {
    fn push(&self, notification: ServerNotification) {
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

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.ready.notify_one();
    }

    /// Sends what is queued to `peer`, in order, until the session goes.
    async fn deliver(self: Arc<Self>, peer: Peer<RoleServer>) {
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
fn send_all(outboxes: &[Arc<Outbox>], notification: &ServerNotification) {
    for outbox in outboxes {
        outbox.push(notification.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::test_peer;

    #[tokio::test]
    async fn a_repeated_initialized_changes_nothing() {
        let (downstream, _client) = test_peer::downstream().await;
        let sessions = ClientSessions::default();
        let peer = downstream.peer().clone();
        sessions.register(7, peer.clone(), Principal::new("alice"), Some("h-alice"));
        sessions.register(7, peer, Principal::new("bob"), Some("h-bob"));
        assert!(sessions.by_http_id("h-bob").is_none());
        assert_eq!(sessions.by_http_id("h-alice").map(|(id, _)| id), Some(7));
        let owners: Vec<Principal> = lock(&sessions.peers)
            .values()
            .map(|(_, p, _)| p.clone())
            .collect();
        assert_eq!(owners, [Principal::new("alice")]);
    }
}
