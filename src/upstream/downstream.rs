//! The client sessions connected to one of our servers (the bridge or the meta-server),
//! for notifications that go to all of them or to the subscribers of a resource.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use rmcp::{Peer, RoleServer, model::ServerNotification};

use crate::model::{Ownership, Principal};
use crate::sync::lock;

/// Connected client sessions. Every lock is a `std::sync::Mutex` that is never held
/// across an `.await` (peers are cloned out before sending).
#[derive(Default)]
pub struct ClientSessions {
    next_id: AtomicU64,
    /// ClientSessions that finished `initialize`, by id, with the principal that opened them.
    peers: Mutex<HashMap<u64, (Peer<RoleServer>, Principal)>>,
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
        peers.insert(session, (peer, principal));
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
        lock(&self.peers).remove(&session);
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
        let peers: Vec<_> = lock(&self.peers)
            .values()
            .filter(|(_, principal)| ownerships.iter().any(|o| o.allows(principal)))
            .map(|(peer, _)| peer.clone())
            .collect();
        send_all(peers, notification).await;
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
        let peers: Vec<_> = {
            let peers = lock(&self.peers);
            let subscribed = ids.iter().filter_map(|id| peers.get(id));
            let allowed = subscribed.filter(|(_, principal)| ownership.allows(principal));
            allowed.map(|(peer, _)| peer.clone()).collect()
        };
        send_all(peers, notification).await;
    }
}

/// How long a notification waits for one session's queue; a session that does not read
/// its stream misses it rather than holding up the others.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// Sends `notification` to every peer at once, each within [`SEND_TIMEOUT`].
async fn send_all(peers: Vec<Peer<RoleServer>>, notification: ServerNotification) {
    let sends = peers.iter().map(|peer| {
        let notification = notification.clone();
        async move {
            let sent = tokio::time::timeout(SEND_TIMEOUT, peer.send_notification(notification));
            if sent.await.is_err() {
                tracing::debug!("a session is not reading its stream; it misses a notification");
            }
        }
    });
    futures::future::join_all(sends).await;
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
            .map(|(_, p)| p.clone())
            .collect();
        assert_eq!(owners, [Principal::new("alice")]);
    }
}
