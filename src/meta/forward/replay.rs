//! The daemon's own SSE answers to mounted calls, kept so that a client whose stream broke
//! can resume it (`GET /mcp` with `Last-Event-ID`), as streamable HTTP allows. Each event
//! has an id `ek.<stream>.<n>`; clients of 2025-11-25 and later also get a priming event
//! first (SEP-1699: an id, a `retry` delay and empty data), which older clients — whose SDKs
//! take the empty data for a broken message — never get.
//!
//! The call's events are written to the [`Replay`] by a task of their own, so a client that
//! went away can still fetch the answer. Bounded: at most [`MAX_EVENTS`] events per stream
//! (the oldest progress dropped), [`MAX_STREAMS`] streams per session, and a stream is
//! forgotten [`KEPT_FOR`] after it ended.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::body::Bytes;
use futures::{StreamExt, stream::BoxStream};
use rmcp::model::ServerJsonRpcMessage;
use tokio::sync::Notify;

use crate::sync::lock;

/// Events kept of one stream: progress beyond it drops the oldest.
const MAX_EVENTS: usize = 256;

/// Streams kept per session: a new one past it drops the oldest ended one (or the oldest).
const MAX_STREAMS: usize = 64;

/// How long a stream can be resumed after its answer.
const KEPT_FOR: Duration = Duration::from_secs(60);

/// How long a client that lost its stream waits before resuming (SSE `retry`).
const RETRY_MILLIS: u64 = 500;

/// The prefix of this module's event ids (rmcp's are numbers and `n/m`).
const ID_PREFIX: &str = "ek.";

/// One call's stream of events.
pub struct Replay {
    id: u64,
    /// The events so far, the first being number `first`.
    events: Mutex<(u64, VecDeque<Bytes>)>,
    /// When the answer was written; `None` while the call runs.
    ended: Mutex<Option<Instant>>,
    changed: Notify,
}

impl Replay {
    /// Adds `message` as the next event; `last` when it is the answer.
    pub fn push(&self, message: &ServerJsonRpcMessage, last: bool) {
        let data = serde_json::to_string(message).unwrap_or_default();
        {
            let mut events = lock(&self.events);
            let (first, queue) = &mut *events;
            let n = *first + queue.len() as u64 + 1;
            if queue.len() == MAX_EVENTS {
                queue.pop_front();
                *first += 1;
            }
            let event = format!(
                "id: {ID_PREFIX}{:x}.{n}\nevent: message\ndata: {data}\n\n",
                self.id
            );
            queue.push_back(Bytes::from(event));
        }
        if last {
            *lock(&self.ended) = Some(Instant::now());
        }
        self.changed.notify_waiters();
    }

    fn is_over(&self) -> bool {
        lock(&self.ended).is_some()
    }

    /// The events after event `seen` (0: from the start), then those still to come, until
    /// the answer.
    pub fn events_after(self: Arc<Self>, seen: u64) -> BoxStream<'static, Bytes> {
        futures::stream::unfold((self, seen), |(replay, mut seen)| async move {
            loop {
                let next = {
                    let notified = replay.changed.notified();
                    // Read before the events: the answer is written before the end is.
                    let over = replay.is_over();
                    let next = {
                        let events = lock(&replay.events);
                        let (first, queue) = &*events;
                        // Events dropped from the front are skipped.
                        let at = seen.max(*first);
                        queue
                            .get((at - *first) as usize)
                            .map(|e| (e.clone(), at + 1))
                    };
                    match next {
                        Some(next) => Some(next),
                        None if over => return None,
                        None => {
                            notified.await;
                            None
                        }
                    }
                };
                if let Some((event, n)) = next {
                    seen = n;
                    return Some((event, (replay, seen)));
                }
            }
        })
        .boxed()
    }

    /// The priming event: its id resumes from the start.
    pub fn priming(&self) -> Bytes {
        Bytes::from(format!(
            "id: {ID_PREFIX}{:x}.0\nretry: {RETRY_MILLIS}\ndata: \n\n",
            self.id
        ))
    }
}

/// The replays of every streamable-HTTP session, by session id.
#[derive(Default)]
pub struct Replays(Mutex<HashMap<String, Vec<Arc<Replay>>>>);

impl Replays {
    /// A new stream for a call of `session`.
    pub fn start(&self, session: &str) -> Arc<Replay> {
        let replay = Arc::new(Replay {
            id: rand::random(),
            events: Mutex::new((0, VecDeque::new())),
            ended: Mutex::new(None),
            changed: Notify::new(),
        });
        let mut all = lock(&self.0);
        all.retain(|_, streams| {
            streams.retain(|r| lock(&r.ended).is_none_or(|at| at.elapsed() < KEPT_FOR));
            !streams.is_empty()
        });
        let streams = all.entry(session.to_owned()).or_default();
        if streams.len() >= MAX_STREAMS {
            let oldest = streams.iter().position(|r| r.is_over()).unwrap_or(0);
            streams.remove(oldest);
        }
        streams.push(replay.clone());
        replay
    }

    /// The stream of `session` that `last_event_id` names (one of this module's ids), and
    /// the event number to resume after; `None` when it is not one of ours or is gone.
    pub fn resume(&self, session: &str, last_event_id: &str) -> Option<(Arc<Replay>, u64)> {
        let (stream, n) = last_event_id.strip_prefix(ID_PREFIX)?.split_once('.')?;
        let (stream, n) = (u64::from_str_radix(stream, 16).ok()?, n.parse().ok()?);
        let all = lock(&self.0);
        let replay = all.get(session)?.iter().find(|r| r.id == stream)?.clone();
        Some((replay, n))
    }

    /// Whether `last_event_id` is one of this module's (else it is rmcp's to resume).
    pub fn is_ours(last_event_id: &str) -> bool {
        last_event_id.starts_with(ID_PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::{
        NumberOrString, ProgressNotification, ProgressNotificationParam, ProgressToken,
        ServerNotification,
    };

    use super::*;

    fn progress(n: u32) -> ServerJsonRpcMessage {
        let token = ProgressToken(NumberOrString::Number(1));
        ServerJsonRpcMessage::notification(ServerNotification::ProgressNotification(
            ProgressNotification::new(ProgressNotificationParam::new(token, f64::from(n))),
        ))
    }

    fn text(events: &[Bytes]) -> Vec<String> {
        events
            .iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect()
    }

    #[tokio::test]
    async fn a_stream_resumes_after_the_last_event_seen() {
        let replays = Replays::default();
        let replay = replays.start("s");
        replay.push(&progress(1), false);
        replay.push(&progress(2), false);
        replay.push(&progress(3), true);
        let all: Vec<Bytes> = replay.clone().events_after(0).collect().await;
        assert_eq!(all.len(), 3);
        let second_id = text(&all)[1]
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("id: ")
            .to_owned();
        let (found, n) = replays.resume("s", &second_id).unwrap();
        let rest: Vec<Bytes> = found.events_after(n).collect().await;
        assert_eq!(text(&rest), text(&all[2..]));
        assert!(replays.resume("other session", &second_id).is_none());
        assert!(
            replays.resume("s", "0/1").is_none(),
            "rmcp's ids are rmcp's"
        );
    }

    #[tokio::test]
    async fn a_reader_waits_for_events_to_come_and_old_ones_are_dropped() {
        let replays = Replays::default();
        let replay = replays.start("s");
        let reader = tokio::spawn(replay.clone().events_after(0).collect::<Vec<_>>());
        for n in 0..(MAX_EVENTS as u32 + 10) {
            replay.push(&progress(n), false);
        }
        replay.push(&progress(9999), true);
        let read = text(&reader.await.unwrap());
        assert!(read.len() >= MAX_EVENTS, "{}", read.len());
        assert!(read.last().unwrap().contains("9999"));
        // A late reader gets what is kept: the newest MAX_EVENTS, the answer last.
        let late: Vec<Bytes> = replay.events_after(0).collect().await;
        assert_eq!(late.len(), MAX_EVENTS);
        assert!(text(&late).last().unwrap().contains("9999"));
    }
}
