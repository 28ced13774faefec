//! The token each Kubernetes child's bridge demands. It is derived from a key only the daemon
//! holds (HMAC-SHA256 of the namespace and job name), so a restarted daemon with the same
//! key (`--child-key-file`) can reach the children it adopts without reading any Secret;
//! the pod gets it from a Secret of its own, never in its spec.

use ring::hmac;

use crate::model::hex;

/// Shortest accepted key, in bytes.
pub const MIN_KEY_LEN: usize = 32;

/// The daemon's key for children's tokens.
#[derive(Clone)]
pub struct ChildTokens {
    key: hmac::Key,
    id: String,
}

impl std::fmt::Debug for ChildTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildTokens").field("id", &self.id).finish()
    }
}

impl Default for ChildTokens {
    /// A random key, good for this run only.
    fn default() -> Self {
        Self::from_key(&rand::random::<[u8; 32]>())
    }
}

impl ChildTokens {
    /// Tokens derived from `key` (the contents of `--child-key-file`).
    pub fn from_key(key: &[u8]) -> Self {
        let key = hmac::Key::new(hmac::HMAC_SHA256, key);
        let id = hex(&hmac::sign(&key, b"mcp-ephemeral-k8s key id").as_ref()[..8]);
        Self { key, id }
    }

    /// The token of child `job_name` in `namespace`: 64 hex digits.
    pub fn token(&self, namespace: &str, job_name: &str) -> String {
        let message = format!("mcp-ephemeral-k8s child token\n{namespace}\n{job_name}");
        hex(hmac::sign(&self.key, message.as_bytes()).as_ref())
    }

    /// Names the key without revealing it (16 hex digits), so a restarted daemon knows
    /// whether a child's token was made with its key.
    pub fn key_id(&self) -> &str {
        &self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_per_key_and_differ_per_child_namespace_and_key() {
        let tokens = ChildTokens::from_key(&[7; 32]);
        let token = tokens.token("agents", "time-1");
        assert_eq!(token.len(), 64);
        assert_eq!(
            token,
            ChildTokens::from_key(&[7; 32]).token("agents", "time-1")
        );
        assert_ne!(token, tokens.token("agents", "time-2"));
        assert_ne!(token, tokens.token("other", "time-1"));
        let other = ChildTokens::from_key(&[8; 32]);
        assert_ne!(token, other.token("agents", "time-1"));
        assert_ne!(tokens.key_id(), other.key_id());
        assert_eq!(tokens.key_id().len(), 16);
        assert!(!format!("{tokens:?}").contains(&token));
    }
}
