//! What the bridge tells its parent on stdout, one JSON object per line.
//!
//! The local backend reads these to learn the bound port and when the child is ready,
//! without polling. Anything else the bridge has to say goes to stderr.

use std::io::Write;

use serde::{Deserialize, Serialize};

/// One line of the bridge's stdout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BridgeEvent {
    /// The HTTP listener is bound (so `--port 0` callers learn the port).
    Listening {
        /// The bound address, e.g. `127.0.0.1:40123`.
        addr: String,
    },
    /// The MCP server's process started.
    Child {
        /// Its PID, which is also its process group.
        pid: u32,
    },
    /// The MCP server completed `initialize`; requests are served.
    Ready {
        /// The name the server gave in `initialize`.
        server: String,
        /// The version it gave.
        version: String,
    },
}

impl BridgeEvent {
    /// Writes the event as one line on stdout.
    pub fn emit(&self) {
        let mut stdout = std::io::stdout().lock();
        let line = serde_json::to_string(self).unwrap_or_default();
        let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
    }

    /// Parses a line of the bridge's stdout; `None` for anything else.
    pub fn parse(line: &str) -> Option<Self> {
        serde_json::from_str(line).ok()
    }
}
