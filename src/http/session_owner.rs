//! Streamable-HTTP sessions bound to their principal: every request on `/mcp` that names a
//! session (`Mcp-Session-Id`: POST, the GET stream, DELETE) must come from the principal
//! whose `initialize` opened it. To anyone else the session does not exist (404, as for an
//! unknown one), so a session id is not a capability. A session this process did not see
//! open is refused the same way.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use rmcp::transport::{
    common::http_header::HEADER_SESSION_ID,
    streamable_http_server::session::local::LocalSessionManager,
};

use crate::{
    model::{Principal, SessionLimits},
    sync::lock,
};

/// How many sessions are remembered; past it the oldest is forgotten (and refused).
const MAX_SESSIONS: usize = 100_000;

/// The principal of each open streamable-HTTP session, and the caps on opening more.
#[derive(Clone)]
pub struct SessionOwners {
    owners: Arc<Mutex<Owners>>,
    limits: SessionLimits,
    /// rmcp's sessions, to forget those it closed (idle, or never initialized).
    live: Arc<LocalSessionManager>,
}

impl SessionOwners {
    /// Owners of the sessions in `live`, opened within `limits`.
    pub fn new(limits: SessionLimits, live: Arc<LocalSessionManager>) -> Self {
        Self {
            owners: Arc::default(),
            limits,
            live,
        }
    }

    /// `None` when `who` may open one more session; else the `429` to answer. Sessions
    /// rmcp has closed are forgotten first, so they do not count.
    async fn admit(&self, who: &Principal) -> Option<Response> {
        let live: std::collections::HashSet<String> = self
            .live
            .sessions
            .read()
            .await
            .keys()
            .map(|id| id.to_string())
            .collect();
        let mut owners = lock(&self.owners);
        owners.by_id.retain(|id, _| live.contains(id));
        let mine = owners.by_id.values().filter(|(p, _)| p == who).count();
        let refusal = self.limits.refusal(mine, owners.by_id.len())?;
        Some((StatusCode::TOO_MANY_REQUESTS, refusal).into_response())
    }
}

#[derive(Default)]
struct Owners {
    /// Session id → its principal and when it was recorded.
    by_id: HashMap<String, (Principal, u64)>,
    /// Recording order, for forgetting the oldest; entries whose session went are skipped.
    order: VecDeque<(u64, String)>,
    next: u64,
}

impl Owners {
    fn record(&mut self, id: String, owner: Principal) {
        while self.by_id.len() >= MAX_SESSIONS {
            let Some((seq, oldest)) = self.order.pop_front() else {
                break;
            };
            if self.by_id.get(&oldest).is_some_and(|(_, s)| *s == seq) {
                self.by_id.remove(&oldest);
            }
        }
        self.next += 1;
        self.order.push_back((self.next, id.clone()));
        self.by_id.insert(id, (owner, self.next));
        // Keep the order queue from growing with sessions that already went.
        if self.order.len() > 2 * MAX_SESSIONS.max(self.by_id.len()) {
            let by_id = &self.by_id;
            self.order
                .retain(|(seq, id)| by_id.get(id).is_some_and(|(_, s)| s == seq));
        }
    }
}

/// The middleware in front of `/mcp` that records and checks the sessions' principals.
pub async fn bind(State(owners): State<SessionOwners>, request: Request, next: Next) -> Response {
    if request.uri().path() != "/mcp" {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let who = Principal::of_http(&parts);
    let named = parts
        .headers
        .get(HEADER_SESSION_ID)
        .map(|id| id.to_str().unwrap_or_default().to_owned());
    if let Some(id) = &named {
        let owned = lock(&owners.owners)
            .by_id
            .get(id)
            .is_some_and(|(owner, _)| *owner == who);
        if !owned {
            return (StatusCode::NOT_FOUND, "Session not found").into_response();
        }
    }
    if named.is_none()
        && parts.method == axum::http::Method::POST
        && let Some(refusal) = owners.admit(&who).await
    {
        return refusal;
    }
    let deleting = parts.method == axum::http::Method::DELETE;
    let response = next.run(Request::from_parts(parts, body)).await;
    match &named {
        // A session that ended (deleted, or unknown to the server by now) is forgotten.
        Some(id)
            if (deleting && response.status().is_success())
                || response.status() == StatusCode::NOT_FOUND =>
        {
            lock(&owners.owners).by_id.remove(id);
        }
        Some(_) => {}
        None => {
            let opened = response.headers().get(HEADER_SESSION_ID);
            if let Some(id) = opened.and_then(|id| id.to_str().ok()) {
                lock(&owners.owners).record(id.to_owned(), who);
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_sessions_keeps_the_newest_and_stays_bounded() {
        let mut owners = Owners::default();
        let alice = Principal::new("alice");
        for n in 0..MAX_SESSIONS + 10 {
            owners.record(format!("s{n}"), alice.clone());
            // Sessions that went (deleted or unknown to the server) leave the queue too.
            if n % 2 == 1 {
                owners.by_id.remove(&format!("s{}", n - 1));
            }
        }
        assert!(owners.by_id.len() <= MAX_SESSIONS);
        assert!(owners.order.len() <= 2 * MAX_SESSIONS + 1);
        let newest = format!("s{}", MAX_SESSIONS + 9);
        assert!(owners.by_id.contains_key(&newest));
        let mut full = Owners::default();
        for n in 0..=MAX_SESSIONS {
            full.record(format!("s{n}"), alice.clone());
        }
        assert_eq!(full.by_id.len(), MAX_SESSIONS);
        assert!(
            !full.by_id.contains_key("s0"),
            "the oldest is forgotten first"
        );
    }
}
