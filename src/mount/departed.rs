//! Mounts that went away recently, so that a call to one of their tools says what happened
//! ("mount "time" was removed: its server … was deleted") instead of that the tool is
//! unknown. Bounded in number and age; a principal learns only of mounts it could see.

use std::{
    collections::VecDeque,
    sync::Mutex,
    time::{Duration, Instant},
};

use super::Mount;
use crate::model::{Ownership, Principal};

/// Most departures remembered.
const KEPT: usize = 64;

/// How long a departure is remembered.
const REMEMBERED_FOR: Duration = Duration::from_secs(600);

/// Why mounts went away.
#[derive(Debug, Clone, Copy)]
pub enum Why<'a> {
    /// `remove_mcp_server_mount`.
    Unmounted,
    /// Their server was deleted (by a caller, the reaper, or the daemon).
    ServerDeleted(&'a str),
}

struct Departure {
    tools: Vec<String>,
    ownership: Ownership,
    label: String,
    why: String,
    at: Instant,
}

/// The recent departures.
#[derive(Default)]
pub struct Departed(Mutex<VecDeque<Departure>>);

impl Departed {
    /// Remembers that `mount` went away, and `why`.
    pub fn record(&self, mount: &Mount, why: Why<'_>) {
        let why = match why {
            Why::Unmounted => "it was unmounted".to_owned(),
            Why::ServerDeleted(job_name) => format!("its server {job_name} was deleted"),
        };
        let departure = Departure {
            tools: mount
                .catalog()
                .tools
                .iter()
                .map(|t| t.name.to_string())
                .collect(),
            ownership: mount.ownership.clone(),
            label: mount.label(),
            why,
            at: Instant::now(),
        };
        let mut departed = crate::sync::lock(&self.0);
        if departed.len() == KEPT {
            departed.pop_front();
        }
        departed.push_back(departure);
    }

    /// Why `tool` is gone, if it was a tool of a mount `who` could see that went away
    /// lately: the newest such departure.
    pub fn explain(&self, tool: &str, who: &Principal) -> Option<String> {
        let departed = crate::sync::lock(&self.0);
        departed
            .iter()
            .rev()
            .filter(|d| d.at.elapsed() < REMEMBERED_FOR && d.ownership.allows(who))
            .find(|d| d.tools.iter().any(|t| t == tool))
            .map(|d| {
                format!(
                    "tool {tool:?} is gone: {} was removed ({}), and its tools with it; call \
                     tools/list to see the tools",
                    d.label, d.why
                )
            })
    }
}
