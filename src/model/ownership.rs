//! Who may use what: the [`Principal`] behind a request and the [`Ownership`] of children
//! and mounts.
//!
//! A child belongs to the principal that created it: others can neither see, delete nor
//! mount it unless it was created shared. With one token (or none) every caller is the
//! same principal, so ownership only separates callers of a tokens file.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The operator's name; tokens files may not use it (nor `anonymous`).
pub const LOCAL: &str = "local";

/// Who is calling: the principal a token names, `anonymous` without authentication, or
/// `local` on stdio.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal(Arc<str>);

impl Principal {
    /// A named principal.
    pub fn new(name: &str) -> Self {
        Self(name.into())
    }

    /// The caller when the daemon runs without authentication.
    pub fn anonymous() -> Self {
        Self::new("anonymous")
    }

    /// The daemon itself when it deletes children on its own (expired, or whose owner is
    /// gone), as audit lines name it.
    pub fn reaper() -> Self {
        Self::new("reaper")
    }

    /// The operator: the caller on stdio (the user who started the daemon). It sees
    /// and may use every child and mount.
    pub fn local() -> Self {
        Self::new(LOCAL)
    }

    /// Whether this is the operator ([`Self::local`]).
    pub fn is_operator(&self) -> bool {
        &*self.0 == LOCAL
    }

    /// The principal of an MCP message: the one the HTTP guard put in its request's
    /// extensions; [`Self::anonymous`] for an HTTP request without one; the operator
    /// for messages that did not come over HTTP (stdio).
    pub fn of(extensions: &rmcp::model::Extensions) -> Self {
        match extensions.get::<http::request::Parts>() {
            Some(parts) => Self::of_http(parts),
            None => Self::local(),
        }
    }

    /// The principal of an HTTP request: the one the guard put in its extensions, or
    /// [`Self::anonymous`].
    pub fn of_http(parts: &http::request::Parts) -> Self {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .unwrap_or_else(Self::anonymous)
    }

    /// The name, for logs and ownership.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whose a child or mount is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Ownership {
    /// The principal that created it; only it may see and use it, unless `shared`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Whether every principal may see, mount and delete it.
    #[serde(default)]
    pub shared: bool,
}

impl Ownership {
    /// Owned by `principal`, shared with everyone when `shared`.
    pub fn of(principal: &Principal, shared: bool) -> Self {
        Self {
            owner: Some(principal.name().to_owned()),
            shared,
        }
    }

    /// Whether `principal` may see and use it: it is shared, has no owner (made through
    /// the library API), is the principal's own, or the principal is the operator.
    pub fn allows(&self, principal: &Principal) -> bool {
        self.shared
            || principal.is_operator()
            || self
                .owner
                .as_deref()
                .is_none_or(|owner| owner == principal.name())
    }

    /// Whether some principal (other than the operator, who sees everything) may see both
    /// this and `other`: only then can their names clash in anyone's view.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.shared
            || other.shared
            || self.owner.is_none()
            || other.owner.is_none()
            || self.owner == other.owner
    }

    /// Whether `principal` owns it (or is the operator, or it has no owner): sharing lets
    /// others use a child, but only its owner learns its token.
    pub fn is_owner(&self, principal: &Principal) -> bool {
        principal.is_operator()
            || self
                .owner
                .as_deref()
                .is_none_or(|owner| owner == principal.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_their_owners_unless_shared() {
        let (alice, bob) = (Principal::new("alice"), Principal::new("bob"));
        let private = Ownership::of(&alice, false);
        assert!(private.allows(&alice));
        assert!(!private.allows(&bob));
        assert!(Ownership::of(&alice, true).allows(&bob));
        assert!(!Ownership::of(&alice, true).is_owner(&bob));
        assert!(!private.overlaps(&Ownership::of(&bob, false)));
        assert!(private.overlaps(&Ownership::of(&bob, true)));
        assert!(private.overlaps(&Ownership::of(&alice, false)));
        assert!(Ownership::of(&alice, true).is_owner(&alice));
        assert!(
            Ownership::default().allows(&bob),
            "library-made children have no owner"
        );
        assert!(
            private.allows(&Principal::local()),
            "the operator sees everything"
        );
    }
}
