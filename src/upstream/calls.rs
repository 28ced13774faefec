//! The calls one upstream is serving for downstream sessions, so that what the upstream
//! sends while serving a call (progress, sampling, elicitation, roots) reaches the client
//! that made it.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

use rmcp::{
    Peer, RoleServer,
    model::{ProgressNotificationParam, ProgressToken, RequestId},
    service::RequestContext,
};

use tokio::sync::mpsc;

use super::{relay::LogOrigin, wire_order::UnrelayedProgress};
use crate::sync::lock;

/// Who made one forwarded call, and where what the upstream sends about it goes.
#[derive(Clone)]
pub struct Caller {
    /// The downstream session: server-to-client requests go to it, and progress when the
    /// call has no stream of its own.
    pub peer: Peer<RoleServer>,
    /// The id the downstream client gave the request.
    pub request_id: RequestId,
    /// The progress token the downstream client chose, if any.
    pub progress_token: Option<ProgressToken>,
    /// Whether the call is a `tools/call` (the requests that make servers sample or elicit).
    pub tool_call: bool,
    /// The request's own response stream, when whoever serves it answers outside rmcp:
    /// its progress goes there while the stream is open.
    pub progress_stream: Option<mpsc::UnboundedSender<ProgressNotificationParam>>,
    /// The session among the server's [`super::ClientSessions`], for what goes to it
    /// through its queue (log messages of the call).
    pub session: Option<u64>,
    /// Where the upstream's requests about this call go when its client cannot be sent
    /// requests (a 2026-07-28 client): whoever serves the call asks for them in an
    /// `input_required` result. `None`: they go to `peer`.
    pub asks: Option<mpsc::UnboundedSender<Ask>>,
}

/// A request (sampling, elicitation, roots) the upstream sent while serving a call whose
/// client is asked through an `input_required` result, and where its answer goes.
pub struct Ask {
    /// What the upstream asked.
    pub request: rmcp::model::ServerRequest,
    /// The client's answer, or why there is none.
    pub answer: tokio::sync::oneshot::Sender<Result<rmcp::model::ClientResult, rmcp::ErrorData>>,
}

impl Caller {
    /// The caller of the downstream request `context` on `session`, served by rmcp (so its
    /// progress goes on the session); `tool_call` when it is a `tools/call`.
    pub fn of(context: &RequestContext<RoleServer>, tool_call: bool, session: u64) -> Self {
        Self {
            peer: context.peer.clone(),
            request_id: context.id.clone(),
            progress_token: context.meta.get_progress_token(),
            tool_call,
            progress_stream: None,
            session: Some(session),
            asks: None,
        }
    }
}

/// In-flight calls of one upstream, keyed by the upstream request id and progress token.
/// Std mutexes, never held across an `.await`.
#[derive(Default)]
pub struct Calls {
    /// Upstream request id → caller (a `Vec`: there are few at a time).
    callers: Mutex<Vec<(RequestId, Caller)>>,
    /// Upstream progress token → the caller. Routes outlive their call by
    /// `PROGRESS_LINGER`: a server's last progress can be handled after its response,
    /// since notifications and responses travel separately.
    progress: Mutex<HashMap<ProgressToken, Caller>>,
    /// Routes of ended calls, oldest first, with when they ended: removed once older than
    /// `PROGRESS_LINGER` (from the front, so each call costs O(1) on average).
    ended: Mutex<VecDeque<(Instant, ProgressToken)>>,
    /// Progress that arrived before its call was recorded (the upstream can answer before
    /// the sender gets to [`Calls::begin`]); at most [`MAX_EARLY_PROGRESS`], oldest dropped.
    early: Mutex<VecDeque<ProgressNotificationParam>>,
    /// Progress read from the upstream and not relayed yet (see [`super::wire_order`]).
    pub(super) unrelayed_progress: UnrelayedProgress,
    /// The last calls that ended, by upstream request id, for messages about them that
    /// arrive after their answer (at most `KEPT_ORIGINS`).
    ended_origins: Mutex<VecDeque<Ended>>,
}

/// A call that ended, for messages about it that come after its answer.
struct Ended {
    at: Instant,
    id: RequestId,
    origin: LogOrigin,
    tool_call: bool,
}

/// How many ended calls are remembered for messages that come after their answer.
const KEPT_ORIGINS: usize = 1024;

/// How many notifications of not-yet-recorded calls are kept.
const MAX_EARLY_PROGRESS: usize = 32;

/// How long a progress route stays after its call ended.
const PROGRESS_LINGER: Duration = Duration::from_secs(2);

impl Calls {
    /// Records a call until the guard is dropped.
    pub fn begin(
        &self,
        upstream_id: RequestId,
        upstream_token: ProgressToken,
        caller: Caller,
    ) -> CallGuard<'_> {
        {
            let mut progress = lock(&self.progress);
            let mut ended = lock(&self.ended);
            while ended
                .front()
                .is_some_and(|(at, _)| at.elapsed() >= PROGRESS_LINGER)
            {
                if let Some((_, token)) = ended.pop_front() {
                    progress.remove(&token);
                }
            }
            progress.insert(upstream_token.clone(), caller.clone());
        }
        let mut callers = lock(&self.callers);
        match callers.iter_mut().find(|(id, _)| *id == upstream_id) {
            Some(announced) => announced.1 = caller,
            None => callers.push((upstream_id.clone(), caller)),
        }
        drop(callers);
        CallGuard {
            calls: self,
            upstream_id,
            upstream_token: Some(upstream_token),
        }
    }

    /// Records `caller` as making the upstream request `id` as the transport sends it: what
    /// the upstream sends about the call can be read before the sender gets to
    /// [`Calls::begin`], which takes the record over. A call that already ended (its sender
    /// gave up before the transport sent it) is not recorded again.
    pub fn announce(&self, id: RequestId, caller: Caller) {
        if lock(&self.ended_origins).iter().any(|e| e.id == id) {
            return;
        }
        let mut callers = lock(&self.callers);
        if !callers.iter().any(|(known, _)| *known == id) {
            callers.push((id, caller));
        }
    }

    /// Sends an upstream progress notification to the caller, with its own token; keeps it
    /// for [`Calls::flush_early`] if the call is not recorded yet.
    pub async fn route_progress(&self, params: ProgressNotificationParam) {
        let _relaying = self
            .unrelayed_progress
            .relaying(params.progress_token.clone());
        let routed = {
            // Kept early under the routes' lock, so [`Calls::begin`] cannot record the
            // call in between and its flush miss this one.
            let progress = lock(&self.progress);
            match progress.get(&params.progress_token) {
                Some(caller) => Some((caller.clone(), params)),
                None => {
                    let mut early = lock(&self.early);
                    if early.len() == MAX_EARLY_PROGRESS {
                        early.pop_front();
                    }
                    early.push_back(params);
                    None
                }
            }
        };
        if let Some((caller, params)) = routed {
            Self::send_progress(&caller, params).await;
        }
    }

    /// Sends the progress of `caller`'s call that arrived before [`Calls::begin`] (an
    /// upstream can report progress before the sender gets to recording its call).
    pub async fn flush_early(&self, upstream_token: &ProgressToken, caller: &Caller) {
        let mine: VecDeque<ProgressNotificationParam> = {
            let mut early = lock(&self.early);
            let (mine, others) = early
                .drain(..)
                .partition(|p| p.progress_token == *upstream_token);
            *early = others;
            mine
        };
        for params in mine {
            Self::send_progress(caller, params).await;
        }
    }

    async fn send_progress(caller: &Caller, mut params: ProgressNotificationParam) {
        if let Some(token) = &caller.progress_token {
            params.progress_token = token.clone();
            // Progress that comes after the answer (the request's stream is gone) goes
            // on the session's stream.
            let params = match &caller.progress_stream {
                Some(stream) => match stream.send(params) {
                    Ok(()) => return,
                    Err(unsent) => unsent.0,
                },
                None => params,
            };
            let _ = caller.peer.notify_progress(params).await;
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

    /// The call that a message naming the upstream request `id` is about: one in flight,
    /// or one of the last `KEPT_ORIGINS` that ended.
    pub fn origin_of(&self, id: &RequestId) -> Option<LogOrigin> {
        if let Some(caller) = self.caller(id) {
            return Some(LogOrigin::of(&caller));
        }
        let ended = lock(&self.ended_origins);
        let found = ended.iter().rev().find(|e| e.id == *id);
        found.map(|e| e.origin.clone())
    }

    /// The call a message of the upstream that names none (a log line of a stdio server)
    /// belongs to: the only `tools/call` in flight, or — none in flight — the only one that
    /// ended within `PROGRESS_LINGER` (its last lines can be handled just after its
    /// answer); `None` when there is no such call, or several.
    pub fn sole_calling_origin(&self) -> Option<LogOrigin> {
        let in_flight = lock(&self.callers)
            .iter()
            .filter(|(_, c)| c.tool_call)
            .count();
        if in_flight > 0 {
            return self.sole_tool_call().map(|caller| LogOrigin::of(&caller));
        }
        let ended = lock(&self.ended_origins);
        let mut recent = ended
            .iter()
            .rev()
            .take_while(|e| e.at.elapsed() < PROGRESS_LINGER)
            .filter(|e| e.tool_call);
        match (recent.next(), recent.next()) {
            (Some(only), None) => Some(only.origin.clone()),
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
    /// Taken on drop, when the route is queued for removal.
    upstream_token: Option<ProgressToken>,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if let Some(token) = self.upstream_token.take() {
            lock(&self.calls.ended).push_back((Instant::now(), token));
        }
        let mut callers = lock(&self.calls.callers);
        if let Some(at) = callers.iter().position(|(id, _)| *id == self.upstream_id) {
            let (id, caller) = callers.remove(at);
            drop(callers);
            let mut ended = lock(&self.calls.ended_origins);
            if ended.len() == KEPT_ORIGINS {
                ended.pop_front();
            }
            ended.push_back(Ended {
                at: Instant::now(),
                id,
                origin: LogOrigin::of(&caller),
                tool_call: caller.tool_call,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::NumberOrString;

    use super::*;
    use crate::upstream::test_peer;

    #[tokio::test]
    async fn progress_that_comes_before_its_call_is_recorded_reaches_the_caller() {
        let (downstream, _client) = test_peer::downstream().await;
        let (outlet, mut relayed) = mpsc::unbounded_channel();
        let token = |n| ProgressToken(NumberOrString::Number(n));
        let caller = Caller {
            peer: downstream.peer().clone(),
            request_id: RequestId::Number(1),
            progress_token: Some(token(100)),
            tool_call: true,
            progress_stream: Some(outlet),
            session: None,
            asks: None,
        };
        let calls = Calls::default();
        calls
            .route_progress(ProgressNotificationParam::new(token(1), 0.5))
            .await;
        let _call = calls.begin(RequestId::Number(7), token(1), caller.clone());
        calls.flush_early(&token(1), &caller).await;
        calls
            .route_progress(ProgressNotificationParam::new(token(1), 1.0))
            .await;
        let first = relayed.try_recv().expect("the early progress was lost");
        assert_eq!((first.progress_token, first.progress), (token(100), 0.5));
        let second = relayed.try_recv().unwrap();
        assert_eq!((second.progress_token, second.progress), (token(100), 1.0));
    }
}
