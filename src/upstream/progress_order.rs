//! Keeping a call's answer behind its progress. rmcp's client handles each notification
//! in a task of its own while it hands an answer straight to the request's waiter, so an
//! upstream's last progress could reach the caller after the answer (when a client no
//! longer expects it). [`ProgressCounting`] counts progress notifications as the transport reads
//! them, in order with the answers; [`UnrelayedProgress::relayed`] lets a call wait until the progress
//! read before its answer has been passed on.

use std::{collections::HashMap, sync::Arc, sync::Mutex, time::Duration};

use rmcp::{
    RoleClient,
    model::{JsonRpcMessage, ProgressToken, ServerJsonRpcMessage, ServerNotification},
    service::{RxJsonRpcMessage, TxJsonRpcMessage},
    transport::Transport,
};
use tokio::sync::Notify;

use super::Calls;
use crate::sync::lock;

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

/// An upstream transport whose progress notifications are counted in its calls'
/// unrelayed progress
/// as they are read.
pub struct ProgressCounting<T> {
    inner: T,
    calls: Arc<Calls>,
}

impl<T> ProgressCounting<T> {
    /// Wraps `inner`, counting into `calls`.
    pub fn new(inner: T, calls: Arc<Calls>) -> Self {
        Self { inner, calls }
    }
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for ProgressCounting<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        let message: Option<ServerJsonRpcMessage> = self.inner.receive().await;
        if let Some(JsonRpcMessage::Notification(n)) = &message
            && let ServerNotification::ProgressNotification(p) = &n.notification
        {
            self.calls
                .unrelayed_progress
                .received(&p.params.progress_token);
        }
        message
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

    /// An upstream that answers `tools/call` with one progress notification and the
    /// answer in a single write, so the client reads both at once.
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
                    Some("tools/call") => {
                        let token = &message["params"]["_meta"]["progressToken"];
                        let progress = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                            "params": {"progressToken": token, "progress": 1}});
                        let answer = json!({"jsonrpc": "2.0", "id": id,
                            "result": {"content": [{"type": "text", "text": "done"}]}});
                        format!("{progress}\n{answer}")
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
