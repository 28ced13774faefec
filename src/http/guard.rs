//! Who may call the MCP endpoints: bearer-token authentication (one token, or a file of
//! named principals) and `Host`/`Origin` checks against DNS rebinding and cross-site
//! requests. `/health` is never guarded.

use std::{
    fmt::Write,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::CorsPolicy;
use crate::model::{LOCAL, PROXIED_AUTHORIZATION, Principal};

/// The accepted bearer tokens and whom each names; none means no authentication.
#[derive(Clone, Default)]
pub struct Tokens(Arc<Vec<(Principal, Vec<u8>)>>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|(p, _)| p.name()).collect();
        f.debug_tuple("Tokens").field(&names).finish()
    }
}

impl Tokens {
    /// Tokens naming principals.
    pub fn new(tokens: Vec<(Principal, String)>) -> Self {
        Self(Arc::new(
            tokens
                .into_iter()
                .map(|(p, t)| (p, t.into_bytes()))
                .collect(),
        ))
    }

    /// Whether authentication is off.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a client can still connect as principal `name`: one of the tokens' names,
    /// `anonymous` when no token is set, and `local` (stdio, the library) always.
    pub fn can_connect_as(&self, name: &str) -> bool {
        if name == LOCAL {
            return true;
        }
        if self.is_empty() {
            return name == Principal::anonymous().name();
        }
        self.0.iter().any(|(principal, _)| principal.name() == name)
    }

    /// The principal a presented token names. Every token is compared in full, in constant
    /// time, so timing tells nothing about which bytes matched.
    pub fn principal(&self, presented: &[u8]) -> Option<Principal> {
        let mut found = None;
        for (principal, token) in self.0.iter() {
            if constant_time_eq(token, presented) {
                found = Some(principal.clone());
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The checks applied to every MCP request.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// Accepted tokens; empty for no authentication.
    pub tokens: Tokens,
    /// `Host` values (without port) accepted; empty accepts any.
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted (the CORS policy): with `Off`, only same-origin requests
    /// may carry an `Origin`.
    pub origins: CorsPolicy,
    /// Requests refused so far, for `/metrics` (shared by every clone).
    pub rejections: Arc<Rejections>,
}

/// Requests the guard refused, by reason.
#[derive(Debug, Default)]
pub struct Rejections {
    unauthorized: AtomicU64,
    host: AtomicU64,
    origin: AtomicU64,
}

impl Rejections {
    /// The counts as the Prometheus family `http_rejected_total{reason}`.
    pub fn render(&self) -> String {
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut out = String::new();
        crate::metrics::header(
            &mut out,
            "http_rejected_total",
            "counter",
            "Requests refused before MCP: no valid token (401), Host or Origin not allowed (403).",
        );
        for (reason, counter) in [
            ("unauthorized", &self.unauthorized),
            ("host", &self.host),
            ("origin", &self.origin),
        ] {
            let _ = writeln!(
                out,
                "mcp_ephemeral_k8s_http_rejected_total{{reason=\"{reason}\"}} {}",
                count(counter)
            );
        }
        out
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The realm in `WWW-Authenticate`.
const REALM: &str = "mcp-ephemeral-k8s";

/// Checks `Host`, `Origin` and the bearer token; passes the request on with its
/// [`Principal`] in its extensions, or answers 403 or 401.
pub async fn check(State(guard): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let authority = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let host = authority.map(host_name);
    if !guard.allowed_hosts.is_empty()
        && !host.is_some_and(|h| {
            guard
                .allowed_hosts
                .iter()
                .any(|a| a.eq_ignore_ascii_case(h))
        })
    {
        bump(&guard.rejections.host);
        let text = "Host not allowed (DNS rebinding protection); set --allowed-hosts to accept it";
        return (StatusCode::FORBIDDEN, text).into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && !origin_allowed(&guard.origins, origin, authority)
    {
        bump(&guard.rejections.origin);
        let text = "Origin not allowed; add it to --allow-origins";
        return (StatusCode::FORBIDDEN, text).into_response();
    }
    let principal = if guard.tokens.is_empty() {
        Principal::anonymous()
    } else {
        match bearer(headers).and_then(|token| guard.tokens.principal(token)) {
            Some(principal) => principal,
            None => {
                bump(&guard.rejections.unauthorized);
                return unauthorized(bearer(headers).is_some());
            }
        }
    };
    request.extensions_mut().insert(principal);
    next.run(request).await
}

fn unauthorized(presented: bool) -> Response {
    let challenge = if presented {
        format!("Bearer realm=\"{REALM}\", error=\"invalid_token\"")
    } else {
        format!("Bearer realm=\"{REALM}\"")
    };
    let text = "a valid bearer token is required: send Authorization: Bearer <token> (or, \
                through a proxy that consumes Authorization, X-MCP-Authorization: Bearer <token>)";
    let mut response = (StatusCode::UNAUTHORIZED, text).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The token of `Authorization: Bearer <token>`, or of the same value in
/// [`PROXIED_AUTHORIZATION`] when a proxy in between consumed `Authorization`.
fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers
        .get(header::AUTHORIZATION)
        .or_else(|| headers.get(PROXIED_AUTHORIZATION))?
        .as_bytes();
    let (scheme, token) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then_some(token.trim_ascii())
}

/// `host[:port]` or `[v6]:port` without the port.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// Whether a request with `origin` may go on, under `policy`; `authority` is the request's
/// `Host` header (name and port).
fn origin_allowed(policy: &CorsPolicy, origin: &HeaderValue, authority: Option<&str>) -> bool {
    match policy {
        CorsPolicy::AnyOrigin => true,
        CorsPolicy::Origins(list) => list.iter().any(|allowed| allowed == origin),
        CorsPolicy::Off => authority.is_some_and(|authority| same_origin(origin, authority)),
    }
}

/// Whether `origin` is the origin of a page served at `authority`: an `http` or `https`
/// origin with the same host name and port (a missing port is the scheme's default, in
/// the origin and in `Host` alike, so a TLS proxy in front keeps working).
fn same_origin(origin: &HeaderValue, authority: &str) -> bool {
    let Some((scheme, origin_authority)) = origin.to_str().unwrap_or_default().split_once("://")
    else {
        return false;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => "80",
        "https" => "443",
        _ => return false,
    };
    let port = |authority: &str| -> String {
        let name = host_name(authority);
        let rest = &authority[authority.find(name).map_or(0, |at| at + name.len())..];
        let rest = rest.trim_start_matches(']');
        rest.strip_prefix(':').unwrap_or(default_port).to_owned()
    };
    host_name(origin_authority).eq_ignore_ascii_case(host_name(authority))
        && port(origin_authority) == port(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_principal() {
        let tokens = Tokens::new(vec![
            (Principal::new("alice"), "a".repeat(32)),
            (Principal::new("bob"), "b".repeat(32)),
        ]);
        assert_eq!(
            tokens.principal("b".repeat(32).as_bytes()),
            Some(Principal::new("bob"))
        );
        assert_eq!(tokens.principal(b"nope"), None);
        assert_eq!(tokens.principal("a".repeat(31).as_bytes()), None);
    }

    #[test]
    fn principals_that_can_still_connect() {
        let tokens = Tokens::new(vec![(Principal::new("alice"), "a".repeat(32))]);
        assert!(tokens.can_connect_as("alice"));
        assert!(tokens.can_connect_as(LOCAL));
        assert!(!tokens.can_connect_as("bob"));
        assert!(!tokens.can_connect_as("anonymous"));
        let open = Tokens::default();
        assert!(open.can_connect_as("anonymous"));
        assert!(!open.can_connect_as("alice"));
    }

    #[test]
    fn the_token_may_come_through_a_proxy_that_consumed_authorization() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            PROXIED_AUTHORIZATION,
            HeaderValue::from_static("Bearer proxied"),
        );
        assert_eq!(bearer(&headers), Some(&b"proxied"[..]));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer own"),
        );
        assert_eq!(
            bearer(&headers),
            Some(&b"own"[..]),
            "Authorization comes first"
        );
    }

    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(host_name("localhost:8000"), "localhost");
        assert_eq!(host_name("[::1]:8000"), "::1");
        assert_eq!(host_name("example.com"), "example.com");
    }

    #[test]
    fn origins_follow_the_cors_policy() {
        let origin = HeaderValue::from_static("http://evil.example");
        assert!(!origin_allowed(
            &CorsPolicy::Off,
            &origin,
            Some("localhost:8000")
        ));
        let same = HeaderValue::from_static("http://localhost:8000");
        assert!(origin_allowed(
            &CorsPolicy::Off,
            &same,
            Some("localhost:8000")
        ));
        // Another port or scheme of the same host is another origin.
        let other_port = HeaderValue::from_static("http://localhost:3000");
        assert!(!origin_allowed(
            &CorsPolicy::Off,
            &other_port,
            Some("localhost:8000")
        ));
        let other_scheme = HeaderValue::from_static("ftp://localhost:8000");
        assert!(!origin_allowed(
            &CorsPolicy::Off,
            &other_scheme,
            Some("localhost:8000")
        ));
        // Default ports: behind a TLS proxy, and IPv6.
        let tls = HeaderValue::from_static("https://mcp.example.com");
        assert!(origin_allowed(
            &CorsPolicy::Off,
            &tls,
            Some("mcp.example.com")
        ));
        assert!(!origin_allowed(
            &CorsPolicy::Off,
            &tls,
            Some("mcp.example.com:8000")
        ));
        let v6 = HeaderValue::from_static("http://[::1]:8000");
        assert!(origin_allowed(&CorsPolicy::Off, &v6, Some("[::1]:8000")));
        assert!(!origin_allowed(&CorsPolicy::Off, &v6, Some("[::1]:9000")));
        assert!(origin_allowed(
            &CorsPolicy::AnyOrigin,
            &origin,
            Some("localhost")
        ));
        let list = CorsPolicy::Origins(vec![HeaderValue::from_static("http://evil.example")]);
        assert!(origin_allowed(&list, &origin, None));
    }
}
