//! The reliability suite: the daemon under load while children are killed, across
//! restarts, under fuzzed input, and with a client that never reads its stream.
//!
//! Short by default (CI). `RELIABILITY=full` runs the long version, and
//! `RELIABILITY_REPORT=<file>` appends each scenario's figures there as table rows
//! (`scripts/reliability` does both and writes `RELIABILITY.md`).

mod fuzz;
mod load;
mod restart;
pub mod slow_client;

use std::{io::Write, time::Duration};

/// How much each scenario does.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Client sessions making calls at once.
    pub sessions: usize,
    /// Calls each session makes.
    pub calls_per_session: usize,
    /// Children killed (and replaced) during the load.
    pub kills: usize,
    /// Property-test cases per fuzz target.
    pub fuzz_cases: u32,
    /// Messages posted to the session that never reads.
    pub stalled_posts: usize,
}

/// The scale asked for by `RELIABILITY`.
pub fn scale() -> Scale {
    if std::env::var("RELIABILITY").is_ok_and(|v| v == "full") {
        Scale {
            sessions: 64,
            calls_per_session: 200,
            kills: 8,
            fuzz_cases: 1024,
            stalled_posts: 2000,
        }
    } else {
        Scale {
            sessions: 64,
            calls_per_session: 8,
            kills: 2,
            fuzz_cases: 64,
            stalled_posts: 300,
        }
    }
}

/// Appends `figures` of `scenario` to the report file, if one is asked for.
pub fn report(scenario: &str, figures: &[(&str, String)]) {
    for (name, value) in figures {
        eprintln!("reliability: {scenario}: {name} = {value}");
    }
    let Ok(path) = std::env::var("RELIABILITY_REPORT") else {
        return;
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for (name, value) in figures {
        writeln!(file, "| {scenario} | {name} | {value} |").unwrap();
    }
}

/// The resident and peak resident memory of a process, in MiB (from `/proc`).
pub fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A percentile of sorted durations, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> String {
    if sorted.is_empty() {
        return "-".into();
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    format!("{:.2} ms", sorted[index].as_secs_f64() * 1e3)
}
