//! The client sessions connected to one of our servers (the bridge or the meta-server),
//! for notifications that go to all of them, to the subscribers of a resource, or — log
//! messages — to the client whose call caused them or those that asked for logs.

#![expect(deprecated, reason = "logging is part of 2025-11-25, which we serve")]

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use rmcp::{
    Peer, RoleServer,
    model::{
        LoggingLevel, LoggingMessageNotification, LoggingMessageNotificationParam,
        ServerNotification,
    },
};

use tokio_util::sync::CancellationToken;

use super::outbox::{Outbox, Recipient, send_all};
use crate::model::{Ownership, Principal};
use crate::sync::lock;

/// One connected session.
struct Session {
    peer: Peer<RoleServer>,
    principal: Principal,
    outbox: Arc<Outbox>,
    /// Cancelled when the session ends (its client deleted it, or it went).
    ended: CancellationToken,
    /// The least severe log level it asked for (`logging/setLevel`), if it asked.
    log_level: Option<LoggingLevel>,
    /// It is a `subscriptions/listen` stream (2026-07-28), not a session.
    listener: bool,
}

/// A log level's severity, least severe first (RFC 5424 order, as MCP uses).
fn severity(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

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
        let recipient = Recipient::Session(peer.clone());
        if self.add(session, peer, recipient, principal, None) {
            if let Some(http_id) = http_id {
                lock(&self.by_http_id).insert(http_id.to_owned(), session);
            }
        }
    }

    /// Adds a session delivering to `recipient`; false when `session` was already there,
    /// or when `max_listeners` is given and its principal has that many listen streams.
    pub(super) fn add(
        &self,
        session: u64,
        peer: Peer<RoleServer>,
        recipient: Recipient,
        principal: Principal,
        max_listeners: Option<usize>,
    ) -> bool {
        let mut peers = lock(&self.peers);
        if peers.contains_key(&session) {
            return false;
        }
        let listener = matches!(recipient, Recipient::Listener(_));
        if let Some(max) = max_listeners {
            let open = peers
                .values()
                .filter(|s| s.listener && s.principal == principal);
            if open.count() >= max {
                return false;
            }
        }
        let outbox = Arc::new(Outbox::default());
        tokio::spawn(outbox.clone().deliver(recipient));
        let entry = Session {
            peer,
            principal,
            outbox,
            ended: CancellationToken::new(),
            log_level: None,
            listener,
        };
        peers.insert(session, entry);
        true
    }

    /// The session whose `Mcp-Session-Id` is `http_id`, and its client.
    pub fn by_http_id(&self, http_id: &str) -> Option<(u64, Peer<RoleServer>)> {
        let session = *lock(&self.by_http_id).get(http_id)?;
        let peer = lock(&self.peers).get(&session)?.peer.clone();
        Some((session, peer))
    }

    /// Forgets a session and its subscriptions.
    pub fn unregister(&self, session: u64) {
        let Some(entry) = lock(&self.peers).remove(&session) else {
            // Never registered (a 2026-07-28 request, or a session that did not initialize).
            return;
        };
        entry.outbox.close();
        entry.ended.cancel();
        lock(&self.by_http_id).retain(|_, s| *s != session);
        lock(&self.subscriptions).retain(|_, subscribers| {
            subscribers.retain(|s| *s != session);
            !subscribers.is_empty()
        });
    }

    /// Cancelled when `session` ends: its client deleted it (see [`Self::end_http`]) or
    /// it went. Never, for a session that is not registered.
    pub fn ended(&self, session: u64) -> CancellationToken {
        let peers = lock(&self.peers);
        peers
            .get(&session)
            .map(|s| s.ended.clone())
            .unwrap_or_default()
    }

    /// Says that the streamable-HTTP session `http_id` was deleted by its client, at once:
    /// what it was still doing can stop now rather than when its handler is dropped.
    pub fn end_http(&self, http_id: &str) {
        let Some(session) = lock(&self.by_http_id).get(http_id).copied() else {
            return;
        };
        if let Some(entry) = lock(&self.peers).get(&session) {
            entry.ended.cancel();
        }
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
            .filter(|s| ownerships.iter().any(|o| o.allows(&s.principal)))
            .map(|s| s.outbox.clone())
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
            let allowed = subscribed.filter(|s| ownership.allows(&s.principal));
            allowed.map(|s| s.outbox.clone()).collect()
        };
        send_all(&outboxes, &notification);
    }

    /// The exposed URIs that sessions `ownership` allows are subscribed to (to subscribe
    /// again upstream after a reconnect).
    pub fn subscribed_uris(&self, ownership: &Ownership) -> Vec<String> {
        let subscriptions = lock(&self.subscriptions).clone();
        let peers = lock(&self.peers);
        let allowed = |id: &u64| {
            peers
                .get(id)
                .is_some_and(|s| ownership.allows(&s.principal))
        };
        let mut uris: Vec<String> = subscriptions
            .into_iter()
            .filter(|(_, ids)| ids.iter().any(allowed))
            .map(|(uri, _)| uri)
            .collect();
        uris.sort();
        uris
    }

    /// Records the log level `session` asked for.
    pub fn set_log_level(&self, session: u64, level: LoggingLevel) {
        if let Some(entry) = lock(&self.peers).get_mut(&session) {
            entry.log_level = Some(level);
        }
    }

    /// The log level `session` asked for, if it asked.
    pub fn log_level(&self, session: u64) -> Option<LoggingLevel> {
        lock(&self.peers).get(&session).and_then(|s| s.log_level)
    }

    /// The least severe level that a session `ownership` allows asked for: what a mount of
    /// that ownership asks its server for, so that every such session gets what it asked
    /// for (each is then filtered to its own level). `None` when none asked.
    pub fn log_level_for(&self, ownership: &Ownership) -> Option<LoggingLevel> {
        lock(&self.peers)
            .values()
            .filter(|s| ownership.allows(&s.principal))
            .filter_map(|s| s.log_level)
            .min_by_key(|level| severity(*level))
    }

    /// Sends a log message of a server that `ownership` allows to see: to `caller` alone
    /// when it was sent while serving that session's call (unless the session asked for
    /// more severe messages only), else to the sessions that asked for logs at its level
    /// or below.
    pub fn log(
        &self,
        ownership: &Ownership,
        params: LoggingMessageNotificationParam,
        caller: Option<u64>,
    ) {
        let level = severity(params.level);
        let outboxes: Vec<_> = {
            let peers = lock(&self.peers);
            let wants = |s: &&Session| match (s.log_level, caller.is_some()) {
                (Some(asked), _) => level >= severity(asked),
                (None, from_call) => from_call,
            };
            let to: Vec<&Session> = match caller {
                Some(id) => peers.get(&id).into_iter().collect(),
                None => peers.values().collect(),
            };
            to.into_iter()
                .filter(|s| ownership.allows(&s.principal))
                .filter(wants)
                .map(|s| s.outbox.clone())
                .collect()
        };
        let notification =
            ServerNotification::LoggingMessageNotification(LoggingMessageNotification::new(params));
        send_all(&outboxes, &notification);
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
            .map(|s| s.principal.clone())
            .collect();
        assert_eq!(owners, [Principal::new("alice")]);
    }
}
