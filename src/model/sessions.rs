//! How many MCP sessions may be open, and for how long: caps in total and per principal,
//! a deadline for `initialize`, and an idle timeout (used by `/mcp` and `/sse` alike).

use std::time::Duration;

/// Limits on the sessions of one endpoint (`/mcp` or `/sse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Sessions open at once, all principals together.
    pub max_sessions: usize,
    /// Sessions one principal may have open at once.
    pub max_sessions_per_principal: usize,
    /// A session that has not completed `initialize` by then is closed.
    pub init_timeout: Duration,
    /// A session that sent nothing for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            max_sessions: 1000,
            max_sessions_per_principal: 100,
            init_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(600),
        }
    }
}

impl SessionLimits {
    /// `None` when one more session of a principal that has `mine` open, with `all` open
    /// in total, fits; otherwise why not, naming the flag (the text of a `429`).
    pub fn refusal(&self, mine: usize, all: usize) -> Option<String> {
        if all >= self.max_sessions {
            return Some(format!(
                "{all} sessions are open, the most this daemon allows (--max-sessions {}); \
                 retry later",
                self.max_sessions
            ));
        }
        (mine >= self.max_sessions_per_principal).then(|| {
            format!(
                "you have {mine} sessions open, the most one principal may \
                 (--max-sessions-per-principal {}); close one (DELETE /mcp, or drop a /sse \
                 stream) or let idle ones expire",
                self.max_sessions_per_principal
            )
        })
    }
}
