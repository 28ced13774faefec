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
    /// Whether the call is a `tools/call` (the requests that make servers sample or elicit).
    pub tool_call: bool,
}

/// In-flight calls of one upstream, keyed by the upstream request id and progress token.
/// Std mutexes, never held across an `.await`.
#[derive(Default)]
pub struct Calls {
    /// Upstream request id → caller (a `Vec`: there are few at a time).
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

    /// The caller of the only `tools/call` in flight, if exactly one is: the one an upstream
    /// request must belong to when the transport cannot say (stdio). With several in flight
    /// there is no telling, and guessing could hand one client's request to another.
    pub fn sole_tool_call(&self) -> Option<Caller> {
        let callers = lock(&self.callers);
        let mut tool_calls = callers.iter().filter(|(_, c)| c.tool_call);
        match (tool_calls.next(), tool_calls.next()) {
            (Some((_, caller)), None) => Some(caller.clone()),
            _ => None,
        }
    }

    /// How many `tools/call` are in flight.
    pub fn tool_calls(&self) -> usize {
        lock(&self.callers)
            .iter()
            .filter(|(_, c)| c.tool_call)
            .count()
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
