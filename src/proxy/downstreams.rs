//! The downstream client sessions of one upstream, and how messages find them.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use rmcp::{
    Peer, RoleServer,
    model::{ProgressNotificationParam, ProgressToken, ServerNotification},
};

/// Connected downstream sessions and the routes of in-flight requests.
///
/// Every lock here is a `std::sync::Mutex`: none is held across an `.await` (peers are
/// cloned out before sending).
#[derive(Default)]
pub struct Downstreams {
    next_id: AtomicU64,
    /// Sessions that finished `initialize`, by session id.
    sessions: Mutex<HashMap<u64, Peer<RoleServer>>>,
    /// Upstream progress token → (downstream session, the token that session chose).
    progress: Mutex<HashMap<ProgressToken, (Peer<RoleServer>, ProgressToken)>>,
    /// Calls in flight, oldest first: (call id, session id, session). Requests the upstream
    /// sends while serving a call (sampling, elicitation, roots) go to the newest.
    calls: Mutex<Vec<(u64, u64, Peer<RoleServer>)>>,
    /// Resource URI → sessions subscribed to it.
    subscriptions: Mutex<HashMap<String, Vec<u64>>>,
}

impl Downstreams {
    /// A fresh id for a session or a call.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a session that completed `initialize`.
    pub fn register(&self, session: u64, peer: Peer<RoleServer>) {
        lock(&self.sessions).insert(session, peer);
    }

    /// Forgets a session and everything routed to it.
    pub fn unregister(&self, session: u64) {
        lock(&self.sessions).remove(&session);
        lock(&self.calls).retain(|(_, s, _)| *s != session);
        for subscribers in lock(&self.subscriptions).values_mut() {
            subscribers.retain(|s| *s != session);
        }
    }

    /// How many sessions are connected.
    pub fn len(&self) -> usize {
        lock(&self.sessions).len()
    }

    /// Whether no session is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records a call in flight from `session`, and the progress route from the upstream's
    /// token to the session's own, until the returned guard is dropped.
    pub fn begin_call(
        &self,
        session: u64,
        peer: &Peer<RoleServer>,
        upstream_token: ProgressToken,
        downstream_token: Option<ProgressToken>,
    ) -> CallGuard<'_> {
        let call = self.next_id();
        lock(&self.calls).push((call, session, peer.clone()));
        if let Some(token) = downstream_token {
            lock(&self.progress).insert(upstream_token.clone(), (peer.clone(), token));
        }
        CallGuard {
            downstreams: self,
            call,
            upstream_token,
        }
    }

    /// Sends an upstream progress notification to the session whose call it belongs to.
    pub async fn route_progress(&self, mut params: ProgressNotificationParam) {
        let route = lock(&self.progress).get(&params.progress_token).cloned();
        if let Some((peer, token)) = route {
            params.progress_token = token;
            let _ = peer.notify_progress(params).await;
        }
    }

    /// The session that should answer a request the upstream sends now: the one with the
    /// newest call in flight, else any connected session.
    pub fn requester(&self) -> Option<Peer<RoleServer>> {
        if let Some((_, _, peer)) = lock(&self.calls).last() {
            return Some(peer.clone());
        }
        lock(&self.sessions).values().next().cloned()
    }

    /// Sends a notification to every connected session.
    pub async fn broadcast(&self, notification: ServerNotification) {
        let peers: Vec<_> = lock(&self.sessions).values().cloned().collect();
        for peer in peers {
            let _ = peer.send_notification(notification.clone()).await;
        }
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

    /// Sends a notification to the sessions subscribed to `uri`.
    pub async fn notify_subscribers(&self, uri: &str, notification: ServerNotification) {
        let ids = lock(&self.subscriptions)
            .get(uri)
            .cloned()
            .unwrap_or_default();
        let peers: Vec<_> = {
            let sessions = lock(&self.sessions);
            ids.iter()
                .filter_map(|id| sessions.get(id).cloned())
                .collect()
        };
        for peer in peers {
            let _ = peer.send_notification(notification.clone()).await;
        }
    }
}

/// Ends a call's routes when dropped (on completion, error or cancellation).
pub struct CallGuard<'a> {
    downstreams: &'a Downstreams,
    call: u64,
    upstream_token: ProgressToken,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        lock(&self.downstreams.progress).remove(&self.upstream_token);
        lock(&self.downstreams.calls).retain(|(c, _, _)| *c != self.call);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain maps behind; keep serving.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
