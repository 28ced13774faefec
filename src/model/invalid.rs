//! [`ConfigError`]: why a server configuration cannot be used.

/// Why a server configuration cannot be used; each message names the field and the fix.
/// It becomes [`crate::Error::InvalidRuntime`] or [`crate::Error::InvalidInput`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `runtime_exec`/`runtime_mcp` (or `image`) do not describe a runnable server.
    #[error("invalid runtime: {0}")]
    Runtime(String),
    /// A field is not acceptable.
    #[error("invalid {field}: {reason}")]
    Input {
        /// The offending parameter, as the caller spelled it.
        field: String,
        /// Why it was refused and how to fix it.
        reason: String,
    },
}

impl ConfigError {
    /// Shorthand for [`ConfigError::Input`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Input {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
