//! Prometheus metrics for operators, in the text exposition format (served at
//! `/metrics`): calls and their latency, errors, children created, deleted and reaped.
//! Gauges (children by state, mounts by state, sessions) are read when rendering.
//! Labels carry only bounded, non-secret values: meta tool names, `mounted`, states.

use crate::sync::lock;
use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// Upper bounds (seconds) of the call latency histogram.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0, 120.0,
];

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CallOutcome {
    /// A result.
    Ok,
    /// A tool error (`isError`) or a protocol error.
    Error,
}

/// One latency histogram.
#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn record(&mut self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (count, bound) in self.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    /// Writes this histogram's lines of `series`, labelled `label="value"`.
    fn write(&self, out: &mut String, series: &str, label: &str, value: &str) {
        for (bound, count) in BUCKETS.iter().zip(self.counts) {
            let _ = writeln!(
                out,
                "{series}_bucket{{{label}=\"{value}\",le=\"{bound}\"}} {count}"
            );
        }
        let total = self.count;
        let _ = writeln!(
            out,
            "{series}_bucket{{{label}=\"{value}\",le=\"+Inf\"}} {total}"
        );
        let _ = writeln!(out, "{series}_sum{{{label}=\"{value}\"}} {}", self.sum);
        let _ = writeln!(out, "{series}_count{{{label}=\"{value}\"}} {total}");
    }
}

/// The daemon's counters. Cheap to update: one short lock per call.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (tool label, outcome) → calls.
    calls: Mutex<BTreeMap<(String, CallOutcome), u64>>,
    /// tool label → latency.
    latency: Mutex<BTreeMap<String, Histogram>>,
    /// Where a created child came from (`pool`, `fresh`) → create latency.
    create_latency: Mutex<BTreeMap<&'static str, Histogram>>,
    /// reason → errors.
    errors: Mutex<BTreeMap<&'static str, u64>>,
    created: AtomicU64,
    deleted: AtomicU64,
    reaped_idle: AtomicU64,
    reaped_old: AtomicU64,
}

/// What the gauges show at rendering time.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    /// Children being started.
    pub starting: usize,
    /// Children started.
    pub running: usize,
    /// Mounts reaching their server.
    pub mounts_connected: usize,
    /// Mounts reconnecting.
    pub mounts_broken: usize,
    /// Connected MCP client sessions.
    pub sessions: usize,
    /// Warm pools: preset, members ready, members wanted.
    pub pools: Vec<(String, usize, usize)>,
}

impl Metrics {
    /// Records a call of `tool` (a meta tool's name, or `mounted`) that took `elapsed`.
    pub fn record_call(&self, tool: &str, outcome: CallOutcome, elapsed: Duration) {
        *lock(&self.calls)
            .entry((tool.to_owned(), outcome))
            .or_default() += 1;
        lock(&self.latency)
            .entry(tool.to_owned())
            .or_default()
            .record(elapsed);
    }

    /// Records a create that returned a child after `elapsed`, from `source`: `pool` (a
    /// warm pool's member) or `fresh`.
    pub fn record_create(&self, source: &'static str, elapsed: Duration) {
        self.created.fetch_add(1, Ordering::Relaxed);
        lock(&self.create_latency)
            .entry(source)
            .or_default()
            .record(elapsed);
    }

    /// Records an error of a kind: `denied`, `limit`, `failed`, `timeout`, `unavailable`.
    pub fn record_error(&self, reason: &'static str) {
        *lock(&self.errors).entry(reason).or_default() += 1;
    }

    /// Records a child deleted.
    pub fn record_deleted(&self) {
        self.deleted.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a child reaped, for being idle or else too old.
    pub fn record_reaped(&self, idle: bool) {
        let counter = if idle {
            &self.reaped_idle
        } else {
            &self.reaped_old
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self, gauges: &Gauges) -> String {
        let plain = |value: usize| vec![(String::new(), value.to_string())];
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed).to_string();
        let state =
            |label: &str, value: usize| (format!("{{state=\"{label}\"}}"), value.to_string());
        let errors = lock(&self.errors)
            .iter()
            .map(|(reason, n)| (format!("{{reason=\"{reason}\"}}"), n.to_string()))
            .collect();
        let families: [Family; 7] = [
            (
                "children",
                "gauge",
                "Children by state.",
                vec![
                    state("starting", gauges.starting),
                    state("running", gauges.running),
                ],
            ),
            (
                "mounts",
                "gauge",
                "Mounts by state.",
                vec![
                    state("connected", gauges.mounts_connected),
                    state("broken", gauges.mounts_broken),
                ],
            ),
            (
                "sessions",
                "gauge",
                "Connected MCP client sessions.",
                plain(gauges.sessions),
            ),
            (
                "children_created_total",
                "counter",
                "Children started.",
                vec![(String::new(), count(&self.created))],
            ),
            (
                "children_deleted_total",
                "counter",
                "Children deleted (on request, reaped or at shutdown).",
                vec![(String::new(), count(&self.deleted))],
            ),
            (
                "children_reaped_total",
                "counter",
                "Children deleted for being idle or too old.",
                vec![
                    ("{reason=\"idle\"}".into(), count(&self.reaped_idle)),
                    ("{reason=\"lifetime\"}".into(), count(&self.reaped_old)),
                ],
            ),
            ("errors_total", "counter", "Errors by reason.", errors),
        ];
        let mut out = String::new();
        for (name, kind, help, samples) in families {
            header(&mut out, name, kind, help);
            for (labels, value) in samples {
                let _ = writeln!(out, "mcp_ephemeral_k8s_{name}{labels} {value}");
            }
        }
        header(
            &mut out,
            "calls_total",
            "counter",
            "Tool calls by tool (meta tools by name, `mounted` for the others) and outcome.",
        );
        for ((tool, outcome), n) in lock(&self.calls).iter() {
            let outcome = match outcome {
                CallOutcome::Ok => "ok",
                CallOutcome::Error => "error",
            };
            let _ = writeln!(
                out,
                "mcp_ephemeral_k8s_calls_total{{tool=\"{tool}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        header(
            &mut out,
            "call_duration_seconds",
            "histogram",
            "Tool call latency.",
        );
        let series = "mcp_ephemeral_k8s_call_duration_seconds";
        for (tool, histogram) in lock(&self.latency).iter() {
            histogram.write(&mut out, series, "tool", tool);
        }
        header(
            &mut out,
            "create_duration_seconds",
            "histogram",
            "How long a create took to return its child, by where the child came from (pool, fresh).",
        );
        let series = "mcp_ephemeral_k8s_create_duration_seconds";
        for (source, histogram) in lock(&self.create_latency).iter() {
            histogram.write(&mut out, series, "source", source);
        }
        if !gauges.pools.is_empty() {
            header(
                &mut out,
                "pool_members",
                "gauge",
                "Members of each warm pool: ready, and wanted.",
            );
            for (preset, ready, wanted) in &gauges.pools {
                for (state, n) in [("ready", ready), ("wanted", wanted)] {
                    let _ = writeln!(
                        out,
                        "mcp_ephemeral_k8s_pool_members{{preset=\"{preset}\",state=\"{state}\"}} {n}"
                    );
                }
            }
        }
        out
    }
}

/// A metric family: name, type, help and samples (labels, value).
type Family = (
    &'static str,
    &'static str,
    &'static str,
    Vec<(String, String)>,
);

/// Writes the `# HELP` and `# TYPE` lines of family `name`.
pub(crate) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP mcp_ephemeral_k8s_{name} {help}");
    let _ = writeln!(out, "# TYPE mcp_ephemeral_k8s_{name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_prometheus_text_format() {
        let metrics = Metrics::default();
        metrics.record_call("mounted", CallOutcome::Ok, Duration::from_millis(3));
        metrics.record_call("mounted", CallOutcome::Error, Duration::from_secs(2));
        metrics.record_error("denied");
        metrics.record_create("pool", Duration::from_millis(2));
        metrics.record_reaped(true);
        let gauges = Gauges {
            running: 2,
            mounts_connected: 1,
            sessions: 3,
            pools: vec![("time".to_owned(), 1, 2)],
            ..Gauges::default()
        };
        let text = metrics.render(&gauges);
        for line in [
            "mcp_ephemeral_k8s_children{state=\"running\"} 2",
            "mcp_ephemeral_k8s_mounts{state=\"connected\"} 1",
            "mcp_ephemeral_k8s_sessions 3",
            "mcp_ephemeral_k8s_children_created_total 1",
            "mcp_ephemeral_k8s_children_reaped_total{reason=\"idle\"} 1",
            "mcp_ephemeral_k8s_errors_total{reason=\"denied\"} 1",
            "mcp_ephemeral_k8s_calls_total{tool=\"mounted\",outcome=\"ok\"} 1",
            "mcp_ephemeral_k8s_calls_total{tool=\"mounted\",outcome=\"error\"} 1",
            "mcp_ephemeral_k8s_call_duration_seconds_bucket{tool=\"mounted\",le=\"0.005\"} 1",
            "mcp_ephemeral_k8s_call_duration_seconds_bucket{tool=\"mounted\",le=\"5\"} 2",
            "mcp_ephemeral_k8s_call_duration_seconds_bucket{tool=\"mounted\",le=\"+Inf\"} 2",
            "mcp_ephemeral_k8s_call_duration_seconds_count{tool=\"mounted\"} 2",
            "mcp_ephemeral_k8s_create_duration_seconds_bucket{source=\"pool\",le=\"0.0025\"} 1",
            "mcp_ephemeral_k8s_create_duration_seconds_count{source=\"pool\"} 1",
            "mcp_ephemeral_k8s_pool_members{preset=\"time\",state=\"ready\"} 1",
            "mcp_ephemeral_k8s_pool_members{preset=\"time\",state=\"wanted\"} 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // Every sample line belongs to a declared family.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = name
                .trim_end_matches("_bucket")
                .trim_end_matches("_sum")
                .trim_end_matches("_count");
            assert!(text.contains(&format!("# TYPE {family} ")), "{line}");
        }
    }
}
