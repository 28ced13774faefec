//! The audit log: one line for each thing a principal did to a child or mount, and how
//! it ended (who may do what is [`crate::model::Ownership`]).

use crate::model::Principal;

/// The `tracing` target of audit lines (filter on it to keep an audit log apart).
pub const AUDIT_TARGET: &str = "mcp_ephemeral_k8s::audit";

/// What an audit line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `create_mcp_server`.
    Create,
    /// `delete_mcp_server`, or a child reaped for being idle or too old.
    Delete,
    /// `mount_mcp_server`.
    Mount,
    /// `remove_mcp_server_mount`.
    Unmount,
    /// `get_mcp_server_status`.
    Status,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Delete => "delete",
            Self::Mount => "mount",
            Self::Unmount => "unmount",
            Self::Status => "status",
        }
    }
}

/// How an audited attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It was done.
    Allowed,
    /// The principal may not do it (not its child, not allowed, a limit).
    Denied,
    /// It was allowed but failed.
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }
}

/// Writes one audit line: who did what to which target, and how it ended.
pub fn audit(principal: &Principal, action: Action, target: &str, outcome: Outcome, detail: &str) {
    tracing::info!(
        target: AUDIT_TARGET,
        principal = principal.name(),
        action = action.as_str(),
        target_name = target,
        outcome = outcome.as_str(),
        detail,
        "audit"
    );
}
