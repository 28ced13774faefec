//! CORS from `--allow-origins`: off by default, `*` for any origin without credentials,
//! or a list of origins with credentials. Never `*` together with credentials.

use axum::http::{HeaderName, HeaderValue, Method};
use rmcp::transport::common::http_header::{HEADER_MCP_PROTOCOL_VERSION, HEADER_SESSION_ID};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// Which browser origins may call the HTTP endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CorsPolicy {
    /// No CORS headers: browsers on other origins cannot call the endpoints.
    #[default]
    Off,
    /// Any origin, without credentials (cookies, HTTP auth).
    AnyOrigin,
    /// These origins, with credentials.
    Origins(Vec<HeaderValue>),
}

impl CorsPolicy {
    /// Builds the policy from `--allow-origins` values.
    ///
    /// # Errors
    /// A message naming the value when one is not a valid origin, or when `*` is mixed
    /// with explicit origins.
    pub fn parse(origins: &[String]) -> Result<Self, String> {
        let origins: Vec<&str> = origins
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
            .collect();
        if origins.is_empty() {
            return Ok(Self::Off);
        }
        if origins.contains(&"*") {
            if origins.len() > 1 {
                return Err("`*` cannot be combined with explicit origins".into());
            }
            return Ok(Self::AnyOrigin);
        }
        origins
            .iter()
            .map(|origin| {
                let trimmed = origin.trim_end_matches('/');
                let host = trimmed
                    .strip_prefix("http://")
                    .or_else(|| trimmed.strip_prefix("https://"));
                let valid = host.is_some_and(|h| !h.is_empty() && !h.contains(['/', ' ', '?', '#']));
                HeaderValue::from_str(trimmed).ok().filter(|_| valid).ok_or_else(|| {
                    format!("{origin:?} is not an origin; use scheme://host[:port], e.g. http://localhost:6274")
                })
            })
            .collect::<Result<_, _>>()
            .map(Self::Origins)
    }

    /// The layer enforcing this policy, if any.
    pub fn layer(&self) -> Option<CorsLayer> {
        let base = CorsLayer::new()
            .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(
                [
                    HEADER_SESSION_ID,
                    HEADER_MCP_PROTOCOL_VERSION,
                    "www-authenticate",
                ]
                .into_iter()
                .filter_map(|name| HeaderName::try_from(name).ok())
                .collect::<Vec<_>>(),
            );
        match self {
            Self::Off => None,
            Self::AnyOrigin => Some(base.allow_origin(AllowOrigin::any())),
            Self::Origins(list) => Some(base.allow_origin(list.clone()).allow_credentials(true)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_into_policies() {
        assert_eq!(CorsPolicy::parse(&[]).unwrap(), CorsPolicy::Off);
        assert_eq!(
            CorsPolicy::parse(&["*".into()]).unwrap(),
            CorsPolicy::AnyOrigin
        );
        let list = CorsPolicy::parse(&["http://localhost:6274/".into()]).unwrap();
        assert_eq!(
            list,
            CorsPolicy::Origins(vec![HeaderValue::from_static("http://localhost:6274")])
        );
    }

    #[test]
    fn bad_origins_are_named() {
        let err = CorsPolicy::parse(&["localhost".into()]).unwrap_err();
        assert!(err.contains("\"localhost\" is not an origin"), "{err}");
        assert!(CorsPolicy::parse(&["http://a/b".into()]).is_err());
        assert!(CorsPolicy::parse(&["*".into(), "http://a".into()]).is_err());
    }
}
