//! The calls one upstream is serving for downstream sessions, so that what the upstream
//! sends while serving a call (progress, sampling, elicitation, roots) reaches the client
//! that made it.

use std::{collections::HashMap, sync::Mutex};

use rmcp::{
    Peer, RoleServer,
    model::{ProgressNotificationParam, ProgressToken, RequestId},
};

use super::lock;

/// Who made one forwarded call.
#[derive(Clone)]
pub struct Caller {
    /// The downstream session.
    pub peer: Peer<RoleServer>,
    /// The id the downstream client gave the request.
    pub request_id: RequestId,
    /// The progress token the downstream client chose, if any.
    pub progress_token: Option<ProgressToken>,
}

/// In-flight calls of one upstream, keyed by the upstream request id and progress token.
/// Std mutexes, never held across an `.await`.
#[derive(Default)]
pub struct Calls {
    /// Upstream request id → caller, oldest first (a `Vec`: there are few at a time, and the
    /// newest is the fallback for requests that cannot be associated).
    callers: Mutex<Vec<(RequestId, Caller)>>,
    /// Upstream progress token → upstream request id.
    progress: Mutex<HashMap<ProgressToken, RequestId>>,
}

impl Calls {
    /// Records a call until the guard is dropped.
    pub fn begin(
        &self,
        upstream_id: RequestId,
        upstream_token: ProgressToken,
        caller: Caller,
    ) -> CallGuard<'_> {
        lock(&self.progress).insert(upstream_token.clone(), upstream_id.clone());
        lock(&self.callers).push((upstream_id.clone(), caller));
        CallGuard {
            calls: self,
            upstream_id,
            upstream_token,
        }
    }

    /// Sends an upstream progress notification to the caller, with its own token.
    pub async fn route_progress(&self, mut params: ProgressNotificationParam) {
        let caller = {
            let id = lock(&self.progress).get(&params.progress_token).cloned();
            id.and_then(|id| self.caller(&id))
        };
        if let Some(Caller {
            peer,
            progress_token: Some(token),
            ..
        }) = caller
        {
            params.progress_token = token;
            let _ = peer.notify_progress(params).await;
        }
    }

    /// The caller of the upstream request `id`, if it is in flight.
    pub fn caller(&self, id: &RequestId) -> Option<Caller> {
        lock(&self.callers)
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, c)| c.clone())
    }

    /// The caller of the newest call in flight (for upstream requests that carry no
    /// association, as over stdio).
    pub fn newest(&self) -> Option<Caller> {
        lock(&self.callers).last().map(|(_, c)| c.clone())
    }
}

/// Ends a call's routes when dropped (on completion, error or cancellation).
pub struct CallGuard<'a> {
    calls: &'a Calls,
    upstream_id: RequestId,
    upstream_token: ProgressToken,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        lock(&self.calls.progress).remove(&self.upstream_token);
        lock(&self.calls.callers).retain(|(id, _)| *id != self.upstream_id);
    }
}
