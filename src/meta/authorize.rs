//! Ownership checks and audit lines around the meta tools: a principal sees and uses only
//! its own children and mounts (and shared ones); every create, delete, mount, unmount
//! and refused attempt is audited with the principal.

use rmcp::{RoleServer, service::RequestContext};

use super::MetaServer;
use crate::{
    access::{Action, Outcome, audit},
    error::Error,
    model::EphemeralMcpServer,
    model::Principal,
};

/// The principal behind a request (see [`Principal::of`]).
pub(super) fn principal(context: &RequestContext<RoleServer>) -> Principal {
    Principal::of(&context.extensions)
}

impl MetaServer {
    /// Audits how `result` ended, counts refusals and failures, and turns the error into
    /// the tool error text.
    pub(super) fn audited<T>(
        &self,
        who: &Principal,
        action: Action,
        target: &str,
        result: Result<T, Error>,
    ) -> Result<T, String> {
        match result {
            Ok(value) => {
                audit(who, action, target, Outcome::Allowed, "");
                Ok(value)
            }
            Err(error) => {
                let (outcome, reason) = match error {
                    Error::NotAllowed(_) => (Outcome::Denied, "not_allowed"),
                    Error::LimitReached(_) | Error::Mount(crate::mount::Error::TooMany(_)) => {
                        (Outcome::Denied, "limit")
                    }
                    _ => (Outcome::Failed, "failed"),
                };
                self.manager.metrics().record_error(reason);
                let text = error.to_string();
                audit(who, action, target, outcome, &text);
                Err(text)
            }
        }
    }

    /// The server `job_name` when `who` may use it. A server of another principal is
    /// reported as not found (its existence is not revealed) and audited as denied.
    pub(super) fn authorize(
        &self,
        who: &Principal,
        action: Action,
        job_name: &str,
    ) -> Result<EphemeralMcpServer, String> {
        let not_found = || {
            Error::JobNotFound {
                job_name: job_name.to_owned(),
            }
            .to_string()
        };
        let server = self.manager.get(job_name).ok_or_else(not_found)?;
        if server.ownership.allows(who) {
            return Ok(server);
        }
        self.manager.metrics().record_error("denied");
        audit(
            who,
            action,
            job_name,
            Outcome::Denied,
            "the server belongs to another principal",
        );
        Err(not_found())
    }
}
