//! What only the order on the wire tells. rmcp's client handles each notification in a
//! task of its own while it hands an answer straight to the request's waiter, so by the
//! time a notification is handled, the call it came with may have ended — and others
//! begun. [`WireOrder`] looks at messages as the transport reads them, in order with the
//! answers:
//! - it counts progress notifications, and [`UnrelayedProgress::relayed`] lets a call wait
//!   until the progress read before its answer has been passed on (a client no longer
//!   expects progress after the answer);
//! - it records who makes a `tools/call` as it is sent (the [`Caller`] in the request's
//!   extensions), so what the upstream sends about it can be routed even if it is handled
//!   before the sender recorded the call itself;
//! - it passes log messages on itself, in the order they were read (rmcp's tasks could
//!   reorder them), each with the call it belongs to: the one a bridge tagged it with, else
//!   the only `tools/call` waiting when it was read (on a single ordered stream — stdio,
//!   legacy SSE — a line the server wrote before its answer belongs to the only call it was
//!   serving), else the only call in flight or just ended.

use std::{collections::HashMap, sync::Arc, sync::Mutex, time::Duration};

use rmcp::{
    RoleClient,
    model::{
        ClientJsonRpcMessage, ClientNotification, ClientRequest, GetExtensions, JsonRpcMessage,
        NotificationMetaObject, ProgressToken, RequestId, ServerJsonRpcMessage, ServerNotification,
    },
    service::{RxJsonRpcMessage, TxJsonRpcMessage},
    transport::Transport,
};
use tokio::sync::Notify;

use super::{
    Caller, Calls, UpstreamEvent,
    relay::{LogOrigin, take_tag},
};
use crate::sync::lock;
use tokio::sync::mpsc::UnboundedSender;

/// How long an answer waits at most for its progress to be relayed (a stuck client must
/// not hold answers up).
const RELAY_WAIT: Duration = Duration::from_secs(1);

/// Progress notifications read from the upstream and not yet relayed, by token.
#[derive(Default)]
pub struct UnrelayedProgress {
    unrelayed: Mutex<HashMap<ProgressToken, usize>>,
    relayed: Notify,
}

impl UnrelayedProgress {
    /// Counts a progress notification the transport has just read.
    fn received(&self, token: &ProgressToken) {
        *lock(&self.unrelayed).entry(token.clone()).or_default() += 1;
    }

    /// Marks a progress notification of `token` as relayed (or dropped) when the returned
    /// guard goes.
    pub fn relaying(&self, token: ProgressToken) -> Relaying<'_> {
        Relaying {
            progress: self,
            token,
        }
    }

    /// Waits until the progress of `token` read so far has been relayed, at most a second
    /// (a stuck client must not hold answers up).
    pub async fn relayed(&self, token: &ProgressToken) {
        let all_relayed = async {
            loop {
                // Created before the check, so a relay in between still wakes it.
                let changed = self.relayed.notified();
                if !lock(&self.unrelayed).contains_key(token) {
                    return;
                }
                changed.await;
            }
        };
        let _ = tokio::time::timeout(RELAY_WAIT, all_relayed).await;
    }
}

/// Counts one progress notification out of the unrelayed ones when dropped.
pub struct Relaying<'a> {
    progress: &'a UnrelayedProgress,
    token: ProgressToken,
}

impl Drop for Relaying<'_> {
    fn drop(&mut self) {
        {
            let mut unrelayed = lock(&self.progress.unrelayed);
            if let Some(count) = unrelayed.get_mut(&self.token) {
                *count -= 1;
                if *count == 0 {
                    unrelayed.remove(&self.token);
                }
            }
        }
        self.progress.relayed.notify_waiters();
    }
}

/// How many `tools/call` a [`WireOrder`] tracks at most (calls whose answer never came
/// and that were never cancelled must not grow it).
const MAX_TRACKED_CALLS: usize = 1024;

/// An upstream transport that counts progress notifications into its calls' unrelayed
/// progress as they are read, and sends log messages as [`UpstreamEvent::Log`] to its
/// events in the order read (rmcp never sees them).
pub struct WireOrder<T> {
    inner: T,
    calls: Arc<Calls>,
    events: UnboundedSender<UpstreamEvent>,
    /// The `tools/call` sent and neither answered nor cancelled, oldest first.
    waiting: Vec<RequestId>,
}

impl<T> WireOrder<T> {
    /// Wraps `inner`, counting into `calls` and sending log messages to `events`.
    pub fn new(inner: T, calls: Arc<Calls>, events: UnboundedSender<UpstreamEvent>) -> Self {
        Self {
            inner,
            calls,
            events,
            waiting: Vec::new(),
        }
    }

    /// The call a log line just read belongs to (see the module's documentation).
    fn origin(&self, tag: Option<RequestId>) -> Option<LogOrigin> {
        match (tag, self.waiting.as_slice()) {
            (Some(id), _) => self.calls.origin_of(&id),
            (None, [only]) => self.calls.origin_of(only),
            (None, []) => self.calls.sole_calling_origin(),
            (None, _) => None,
        }
    }

    fn forget(&mut self, id: &RequestId) {
        self.waiting.retain(|waiting| waiting != id);
    }
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for WireOrder<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        match &item {
            ClientJsonRpcMessage::Request(r)
                if matches!(r.request, ClientRequest::CallToolRequest(_)) =>
            {
                if let Some(caller) = r.request.extensions().get::<Caller>() {
                    self.calls.announce(r.id.clone(), caller.clone());
                }
                if self.waiting.len() == MAX_TRACKED_CALLS {
                    self.waiting.remove(0);
                }
                self.waiting.push(r.id.clone());
            }
            ClientJsonRpcMessage::Notification(n) => {
                if let ClientNotification::CancelledNotification(c) = &n.notification {
                    if let Some(id) = c.params.request_id.clone() {
                        self.forget(&id);
                    }
                }
            }
            _ => {}
        }
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            let mut message: Option<ServerJsonRpcMessage> = self.inner.receive().await;
            match &mut message {
                Some(JsonRpcMessage::Notification(n)) => match &mut n.notification {
                    ServerNotification::ProgressNotification(p) => {
                        self.calls
                            .unrelayed_progress
                            .received(&p.params.progress_token);
                    }
                    ServerNotification::LoggingMessageNotification(log) => {
                        let meta = log.extensions.get_mut::<NotificationMetaObject>();
                        let origin = self.origin(meta.and_then(take_tag));
                        let params = log.params.clone();
                        let _ = self.events.send(UpstreamEvent::Log(params, origin));
                        continue;
                    }
                    _ => {}
                },
                Some(JsonRpcMessage::Response(r)) => {
                    let id = r.id.clone();
                    self.forget(&id);
                }
                Some(JsonRpcMessage::Error(e)) => {
                    if let Some(id) = e.id.clone() {
                        self.forget(&id);
                    }
                }
                _ => {}
            }
            return message;
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.inner.close().await
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::{CallToolRequestParams, ClientRequest, NumberOrString, Request, RequestId};
    use serde_json::{Value, json};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::sync::mpsc;

    use super::*;
    use crate::upstream::{Caller, Upstream, test_peer};

    /// An upstream that answers `tools/call` in a single write, so the client reads all at
    /// once: tool `work` with one progress notification and the answer; `log_before` with a
    /// log line then the answer; `log_after` with the answer then a log line tagged with
    /// the call's id, as a bridge tags a line that comes after its call's answer.
    fn fake_upstream() -> tokio::io::DuplexStream {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let (read, mut write) = tokio::io::split(theirs);
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let message: Value = serde_json::from_str(&line).unwrap();
                let id = &message["id"];
                let out = match message["method"].as_str() {
                    Some("initialize") => json!({"jsonrpc": "2.0", "id": id, "result": {
                        "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                        "serverInfo": {"name": "fake", "version": "1"}}})
                    .to_string(),
                    Some("tools/call") if message["params"]["name"] == "log_before" => {
                        let log = json!({"jsonrpc": "2.0", "method": "notifications/message",
                            "params": {"level": "info", "data": "before"}});
                        format!("{log}\n{}", answer(id))
                    }
                    Some("tools/call") if message["params"]["name"] == "log_many" => {
                        let mut out = String::new();
                        for n in 0..LINES {
                            let log = json!({"jsonrpc": "2.0", "method": "notifications/message",
                                "params": {"level": "info", "data": n}});
                            out += &format!("{log}\n");
                        }
                        out + &answer(id).to_string()
                    }
                    Some("tools/call") if message["params"]["name"] == "log_after" => {
                        let log = json!({"jsonrpc": "2.0", "method": "notifications/message",
                            "params": {"level": "info", "data": "after",
                                "_meta": {crate::upstream::relay::LOG_CALL_KEY: id}}});
                        format!("{}\n{log}", answer(id))
                    }
                    Some("tools/call") => {
                        let token = &message["params"]["_meta"]["progressToken"];
                        let progress = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                            "params": {"progressToken": token, "progress": 1}});
                        format!("{progress}\n{}", answer(id))
                    }
                    _ => continue,
                };
                write
                    .write_all(format!("{out}\n").as_bytes())
                    .await
                    .unwrap();
            }
        });
        ours
    }

    /// How many lines `log_many` writes.
    const LINES: u64 = 2000;

    fn answer(id: &Value) -> Value {
        json!({"jsonrpc": "2.0", "id": id,
            "result": {"content": [{"type": "text", "text": "done"}]}})
    }

    /// A `tools/call` of `session` on `downstream`, without progress.
    fn tool_caller(
        downstream: &rmcp::service::RunningService<rmcp::RoleServer, impl rmcp::ServerHandler>,
        session: u64,
    ) -> Caller {
        Caller {
            peer: downstream.peer().clone(),
            request_id: RequestId::Number(1),
            progress_token: None,
            tool_call: true,
            progress_stream: None,
            session: Some(session),
            asks: None,
        }
    }

    /// `tool` called in turn by 20 sessions: each log line the upstream sends about a
    /// call must be attributed to that call's session, although rmcp handles it after the
    /// answer — and other calls have ended meanwhile, so no guess could tell.
    async fn each_line_goes_to_its_call(tool: &str) {
        let (upstream, mut events) = Upstream::connect(fake_upstream()).await.unwrap();
        let (downstream, _client) = test_peer::downstream().await;
        for session in 0..20 {
            let caller = tool_caller(&downstream, session);
            let request = ClientRequest::CallToolRequest(Request::new(CallToolRequestParams::new(
                tool.to_owned(),
            )));
            let ct = tokio_util::sync::CancellationToken::new();
            upstream.forward(request, caller, &ct, None).await.unwrap();
            let origin = loop {
                match events.recv().await.unwrap() {
                    crate::upstream::UpstreamEvent::Log(_, origin) => break origin,
                    _ => continue,
                }
            };
            assert_eq!(origin.and_then(|o| o.session), Some(session), "{tool}");
        }
    }

    // One worker, as below: the line is handled after the call's answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_line_read_before_the_answer_belongs_to_the_only_call_waiting() {
        each_line_goes_to_its_call("log_before").await;
    }

    // Two workers: rmcp's own handling (a task per notification) could reorder lines.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[expect(deprecated, reason = "logging is part of 2025-11-25, which we relay")]
    async fn lines_keep_the_order_they_were_written_in() {
        let (upstream, mut events) = Upstream::connect(fake_upstream()).await.unwrap();
        let (downstream, _client) = test_peer::downstream().await;
        let caller = tool_caller(&downstream, 7);
        let request =
            ClientRequest::CallToolRequest(Request::new(CallToolRequestParams::new("log_many")));
        let ct = tokio_util::sync::CancellationToken::new();
        upstream.forward(request, caller, &ct, None).await.unwrap();
        let mut lines = Vec::new();
        while (lines.len() as u64) < LINES {
            if let crate::upstream::UpstreamEvent::Log(params, origin) =
                events.recv().await.unwrap()
            {
                assert_eq!(origin.and_then(|o| o.session), Some(7));
                lines.push(params.data.as_u64().unwrap());
            }
        }
        assert!(lines.iter().copied().eq(0..LINES), "lines out of order");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_line_tagged_with_its_call_belongs_to_it_even_after_the_answer() {
        each_line_goes_to_its_call("log_after").await;
    }

    // One worker: the call's task, woken by its answer, runs before the task rmcp spawned
    // for the progress notification read just before (tokio runs the woken task first).
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn an_answer_waits_for_the_progress_read_before_it() {
        let (upstream, _events) = Upstream::connect(fake_upstream()).await.unwrap();
        let upstream = Arc::new(upstream);
        let (downstream, _client) = test_peer::downstream().await;
        let peer = downstream.peer().clone();
        for n in 0..20 {
            let (stream, mut progress) = mpsc::unbounded_channel();
            let caller = Caller {
                peer: peer.clone(),
                request_id: RequestId::Number(n),
                progress_token: Some(ProgressToken(NumberOrString::Number(n))),
                tool_call: true,
                progress_stream: Some(stream),
                session: None,
                asks: None,
            };
            let request =
                ClientRequest::CallToolRequest(Request::new(CallToolRequestParams::new("work")));
            let upstream = upstream.clone();
            let (answer, relayed) = tokio::spawn(async move {
                let ct = tokio_util::sync::CancellationToken::new();
                let answer = upstream.forward(request, caller, &ct, None).await;
                (answer, progress.try_recv().ok())
            })
            .await
            .unwrap();
            assert!(answer.is_ok(), "{answer:?}");
            let relayed = relayed.expect("the answer overtook the progress sent before it");
            assert_eq!(
                relayed.progress_token,
                ProgressToken(NumberOrString::Number(n))
            );
        }
    }
}
