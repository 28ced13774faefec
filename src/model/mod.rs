//! The data the daemon speaks in: server configurations, servers, statuses, names,
//! ownership, and what the bridge reports to its parent. It imports nothing else of the crate.

mod bridge_event;
mod config;
mod invalid;
mod mount;
pub mod naming;
mod ownership;
mod package;
mod pattern;
mod selection;
mod server;
mod sessions;

pub use bridge_event::BridgeEvent;
pub(crate) use config::null_as_default;
pub use config::{
    DEFAULT_CHILD_PORT, DEFAULT_RUNTIME_IMAGE, EphemeralMcpServerConfig, ProbeConfig, REDACTED,
    RbacPreset, ServiceAccountConfig, is_env_name,
};
pub use invalid::ConfigError;
pub use mount::{MountInfo, MountRecord, MountState, MountTransport};
pub use ownership::{LOCAL, Ownership, Principal};
pub use package::PackageSpec;
pub use pattern::glob_match;
pub use selection::ToolSelection;
pub use server::{
    Condition, DeletedServer, EphemeralMcpServer, Phase, PodStatus, ProcessStatus, ServerStatus,
    Timing, rfc3339, unix_now,
};
pub use sessions::SessionLimits;

/// The environment variable holding the log filter (`info`, `debug`,
/// `mcp_ephemeral_k8s=trace`…); `RUST_LOG` is read when it is unset.
pub const LOG_ENV: &str = "MCP_EPHEMERAL_K8S_LOG";

/// The environment variable that gives a bridge the token it demands of every client
/// (out of band: a command line is visible to every user of the machine).
pub const BRIDGE_TOKEN_ENV: &str = "MCP_EPHEMERAL_K8S_BRIDGE_TOKEN";

/// `url` as logs and messages may show it: without userinfo (credentials), query and
/// fragment (tokens often ride there). `https://u:p@host/mcp?key=1` → `https://host/mcp`.
pub fn redact_url(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..end];
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}

/// The header that carries a bearer token (`Bearer <token>`, as `Authorization` would)
/// through a proxy that consumes `Authorization` itself, as the Kubernetes API server's
/// service proxy and `kubectl proxy` do. Every guard accepts it when `Authorization` is
/// absent.
pub const PROXIED_AUTHORIZATION: &str = "x-mcp-authorization";

/// `error` followed by those of its causes its message does not already say, `: `-separated
/// (the reason a connection was refused is often three levels down).
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// `text` as logs and messages show a value of any size: its first `max` bytes (at a
/// character boundary) and how long it is, so that a caller's megabyte argument is not
/// written out again and again.
pub fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}… ({} bytes)", &text[..end], text.len()))
}

/// A new random token (256 bits, hex), for a child's bridge.
pub fn new_token() -> String {
    hex(&rand::random::<[u8; 32]>())
}

/// `bytes` as lowercase hex digits.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_lose_credentials_query_and_fragment() {
        for (url, shown) in [
            ("https://u:p@host:8443/mcp?key=1#x", "https://host:8443/mcp"),
            ("http://host/sse", "http://host/sse"),
            ("http://token@host", "http://host"),
            ("not a url?secret", "not a url"),
        ] {
            assert_eq!(super::redact_url(url), shown);
        }
    }
}
