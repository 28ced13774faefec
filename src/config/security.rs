//! The security and limit flags of `serve` (DESIGN.md §7): authentication, Host checks,
//! allowlists and limits, validated into a [`Guard`] and a [`Policy`].

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;

use super::{Error, invalid};
use crate::{
    address::AddressFilter,
    backend::kubernetes::{ChildTokens, MIN_KEY_LEN},
    http::{CorsPolicy, Guard, ListenerLimits, Tokens},
    model::{LOCAL, Principal, SessionLimits},
    policy::{DEFAULT_ENV_REFS, DEFAULT_RUNTIMES, Limits, Policy},
    secrets::SecretPolicy,
};

/// Shortest accepted bearer token.
pub const MIN_TOKEN_LEN: usize = 16;

/// Who may call the daemon, what they may run, and how much.
#[derive(Debug, Clone, Args)]
pub struct SecurityArgs {
    /// Bearer token every MCP request must carry (`Authorization: Bearer <token>`); at least
    /// 16 characters. `/health` stays open.
    #[arg(long, env = "MCP_EPHEMERAL_K8S_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// File holding the bearer token (e.g. a mounted Secret).
    #[arg(long, env = "MCP_EPHEMERAL_K8S_AUTH_TOKEN_FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// File of named principals, one `name token` per line (`#` comments): each child
    /// belongs to the principal that created it.
    #[arg(long, env = "MCP_EPHEMERAL_K8S_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,
    /// Serve a non-loopback address without authentication (otherwise refused).
    #[arg(long, env = "MCP_EPHEMERAL_K8S_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
    /// `Host` header values accepted (comma-separated or repeated; DNS-rebinding
    /// protection). Default: loopback names on a loopback address, any otherwise.
    #[arg(long, value_delimiter = ',', env = "MCP_EPHEMERAL_K8S_ALLOWED_HOSTS")]
    pub allowed_hosts: Vec<String>,
    /// Runtimes (`runtime_exec`) callers may use (comma-separated or repeated); `*` allows
    /// any. Presets are always allowed.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_RUNTIMES.map(String::from), env = "MCP_EPHEMERAL_K8S_ALLOW_RUNTIME")]
    pub allow_runtime: Vec<String>,
    /// Packages (`runtime_mcp`) callers may run, as patterns where `*` matches anything
    /// (e.g. `mcp-server-*,@modelcontextprotocol/*`). Default: any.
    #[arg(long, value_delimiter = ',', env = "MCP_EPHEMERAL_K8S_ALLOW_PACKAGE")]
    pub allow_package: Vec<String>,
    /// Images callers may name (Kubernetes backend), as patterns (`*` for any). Default:
    /// only the runtime image.
    #[arg(long, value_delimiter = ',', env = "MCP_EPHEMERAL_K8S_ALLOW_IMAGE")]
    pub allow_image: Vec<String>,
    /// Daemon variables that `env` values may reference as `${VAR}` (patterns; `*` for
    /// any). Children get their values; the agent never sees them.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_ENV_REFS.map(String::from), env = "MCP_EPHEMERAL_K8S_ALLOW_ENV_REF")]
    pub allow_env_ref: Vec<String>,
    /// `env` names callers may set although they change what a child runs or where its
    /// packages come from (`LD_*`, `PATH`, `NODE_OPTIONS`, `npm_config_*`, `UV_*`, …; see
    /// the README), as patterns. Default: none.
    #[arg(long, value_delimiter = ',', env = "MCP_EPHEMERAL_K8S_ALLOW_ENV")]
    pub allow_env: Vec<String>,
    /// URLs `mount_mcp_server(url=…)` may name, as patterns (`*` matches any text, e.g.
    /// `https://mcp.example.com/*`); matched without credentials. Default: none, so URL
    /// mounts are off.
    #[arg(long, value_delimiter = ',', env = "MCP_EPHEMERAL_K8S_ALLOW_MOUNT_URL")]
    pub allow_mount_url: Vec<String>,
    /// Internal networks (CIDR, e.g. `10.0.0.0/8`, `127.0.0.1/32`) URL mounts may reach;
    /// loopback, private, link-local and metadata addresses are refused otherwise, checked
    /// on every connection. Default: none.
    #[arg(
        long,
        value_delimiter = ',',
        env = "MCP_EPHEMERAL_K8S_ALLOW_MOUNT_NETWORK"
    )]
    pub allow_mount_network: Vec<String>,
    /// Kubernetes Secrets that `env` values may reference as `${secret:NAME/KEY}`
    /// (patterns). Default: none.
    #[arg(long, value_delimiter = ',', env = "MCP_EPHEMERAL_K8S_ALLOW_SECRET")]
    pub allow_secret: Vec<String>,
    /// File holding the key (at least 32 characters, e.g. `openssl rand -hex 32`) that
    /// Kubernetes children's tokens are derived from, so that a restarted daemon still
    /// reaches the children it adopts. Default: a random key for this run.
    #[arg(long, env = "MCP_EPHEMERAL_K8S_CHILD_KEY_FILE")]
    pub child_key_file: Option<PathBuf>,
    /// Most children running at once (0: unlimited).
    #[arg(long, default_value_t = 32, env = "MCP_EPHEMERAL_K8S_MAX_SERVERS")]
    pub max_servers: usize,
    /// Most children running at once that one client session created (0: unlimited).
    #[arg(
        long,
        default_value_t = 8,
        env = "MCP_EPHEMERAL_K8S_MAX_SERVERS_PER_SESSION"
    )]
    pub max_servers_per_session: usize,
    /// Most children running at once that one principal of `--tokens-file` owns (0:
    /// unlimited), so that no principal can take every `--max-servers` slot.
    #[arg(
        long,
        default_value_t = 16,
        env = "MCP_EPHEMERAL_K8S_MAX_SERVERS_PER_PRINCIPAL"
    )]
    pub max_servers_per_principal: usize,
    /// Most mounts at once (0: unlimited).
    #[arg(long, default_value_t = 32, env = "MCP_EPHEMERAL_K8S_MAX_MOUNTS")]
    pub max_mounts: usize,
    /// Progressive listing: when the mounted tools a caller may see are more than this,
    /// tools/list shows only the daemon's own tools, and the caller finds the others with
    /// search_mounted_tools (0: always list every tool).
    #[arg(long, default_value_t = 0, env = "MCP_EPHEMERAL_K8S_MAX_LISTED_TOOLS")]
    pub max_listed_tools: usize,
    /// Seconds a call through a mount may take before it is cancelled (0: no limit).
    #[arg(long, default_value_t = 300, env = "MCP_EPHEMERAL_K8S_CALL_TIMEOUT")]
    pub call_timeout: u64,
    /// Seconds after which a child nobody used (no call through its mount, no status,
    /// no mount) is unmounted and deleted (0: never).
    #[arg(long, default_value_t = 3600, env = "MCP_EPHEMERAL_K8S_IDLE_TTL")]
    pub idle_ttl: u64,
    /// Seconds after which any child is deleted (0: never); on Kubernetes also the Job's
    /// `activeDeadlineSeconds`.
    #[arg(long, default_value_t = 86_400, env = "MCP_EPHEMERAL_K8S_MAX_LIFETIME")]
    pub max_lifetime: u64,
    /// Seconds a client has to send a request's headers before its connection is closed.
    #[arg(long, default_value_t = crate::http::listener::DEFAULT_HEADER_TIMEOUT.as_secs(), env = "MCP_EPHEMERAL_K8S_HEADER_TIMEOUT")]
    pub header_timeout: u64,
    /// Most connections open at once; more are closed as soon as they are accepted.
    #[arg(long, default_value_t = crate::http::listener::DEFAULT_MAX_CONNECTIONS, env = "MCP_EPHEMERAL_K8S_MAX_CONNECTIONS")]
    pub max_connections: usize,
    /// Most MCP sessions open at once on `/mcp`, and apart on `/sse`.
    #[arg(long, default_value_t = 1000, env = "MCP_EPHEMERAL_K8S_MAX_SESSIONS")]
    pub max_sessions: usize,
    /// Most MCP sessions one principal may have open at once (on each of `/mcp`, `/sse`).
    #[arg(
        long,
        default_value_t = 100,
        env = "MCP_EPHEMERAL_K8S_MAX_SESSIONS_PER_PRINCIPAL"
    )]
    pub max_sessions_per_principal: usize,
    /// Seconds a session may send nothing before it is closed.
    #[arg(
        long,
        default_value_t = 600,
        env = "MCP_EPHEMERAL_K8S_SESSION_IDLE_TIMEOUT"
    )]
    pub session_idle_timeout: u64,
    /// Seconds a session has to complete `initialize` before it is closed.
    #[arg(
        long,
        default_value_t = 30,
        env = "MCP_EPHEMERAL_K8S_SESSION_INIT_TIMEOUT"
    )]
    pub session_init_timeout: u64,
    /// Serve `/metrics` without authentication (for a Prometheus without the token).
    #[arg(long, env = "MCP_EPHEMERAL_K8S_METRICS_OPEN")]
    pub metrics_open: bool,
}

impl SecurityArgs {
    /// The request checks for a daemon bound to `bind` with browser `origins`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for unreadable or short tokens, or an exposed address without
    /// authentication (unless `--insecure-no-auth`).
    pub fn guard(
        &self,
        bind: SocketAddr,
        exposed: bool,
        origins: CorsPolicy,
        host: &str,
    ) -> Result<Guard, Error> {
        let tokens = self.tokens()?;
        if exposed && tokens.is_empty() && !self.insecure_no_auth {
            let reason = "it is not a loopback address and no token is set: anyone who reaches \
                          it could run commands; set --auth-token (or --auth-token-file, \
                          --tokens-file), or pass --insecure-no-auth";
            return Err(invalid("--host", host, reason));
        }
        let allowed_hosts = if self.allowed_hosts.is_empty() {
            crate::http::default_allowed_hosts(bind)
        } else {
            let hosts = self.allowed_hosts.iter().map(|h| h.trim().to_owned());
            hosts.filter(|h| !h.is_empty()).collect()
        };
        Ok(Guard {
            tokens,
            allowed_hosts,
            origins,
            rejections: Default::default(),
        })
    }

    /// The allowlists and limits.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty pattern.
    pub fn policy(&self) -> Result<Policy, Error> {
        let list = |name: &'static str, values: &[String]| -> Result<Vec<String>, Error> {
            let values: Vec<String> = values.iter().map(|v| v.trim().to_owned()).collect();
            if values.iter().any(String::is_empty) {
                return Err(invalid(name, values.join(","), "contains an empty entry"));
            }
            Ok(values)
        };
        let runtimes = list("--allow-runtime", &self.allow_runtime)?;
        let packages = list("--allow-package", &self.allow_package)?;
        let any = |values: &[String]| values.iter().any(|v| v == "*");
        let optional = |n: usize| (n > 0).then_some(n);
        let seconds = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Ok(Policy {
            runtimes: (!any(&runtimes)).then_some(runtimes),
            packages: (!packages.is_empty() && !any(&packages)).then_some(packages),
            images: Some(list("--allow-image", &self.allow_image)?),
            secrets: SecretPolicy {
                env_refs: Some(list("--allow-env-ref", &self.allow_env_ref)?),
                secrets: Some(list("--allow-secret", &self.allow_secret)?),
            },
            allowed_env: list("--allow-env", &self.allow_env)?,
            mount_urls: Some(list("--allow-mount-url", &self.allow_mount_url)?),
            mount_addresses: AddressFilter {
                allowed: list("--allow-mount-network", &self.allow_mount_network)?
                    .iter()
                    .map(|n| {
                        n.parse()
                            .map_err(|why: String| invalid("--allow-mount-network", n, why))
                    })
                    .collect::<Result<_, _>>()?,
            },
            limits: Limits {
                max_servers: optional(self.max_servers),
                max_servers_per_session: optional(self.max_servers_per_session),
                // Without named principals every caller is the same one.
                max_servers_per_principal: optional(self.max_servers_per_principal)
                    .filter(|_| self.tokens_file.is_some()),
                max_mounts: optional(self.max_mounts),
                max_listed_tools: optional(self.max_listed_tools),
                call_timeout: seconds(self.call_timeout),
                idle_ttl: seconds(self.idle_ttl),
                max_lifetime: seconds(self.max_lifetime),
            },
        })
    }

    /// The listener's limits.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a zero timeout or cap.
    pub fn listener(&self) -> Result<ListenerLimits, Error> {
        if self.header_timeout == 0 {
            return Err(invalid("--header-timeout", 0, "must be at least 1 second"));
        }
        if self.max_connections == 0 {
            return Err(invalid("--max-connections", 0, "must be at least 1"));
        }
        Ok(ListenerLimits {
            header_timeout: Duration::from_secs(self.header_timeout),
            max_connections: self.max_connections,
        })
    }

    /// The caps and timeouts of MCP sessions.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a zero cap or timeout.
    pub fn sessions(&self) -> Result<SessionLimits, Error> {
        for (flag, value) in [
            ("--max-sessions", self.max_sessions as u64),
            (
                "--max-sessions-per-principal",
                self.max_sessions_per_principal as u64,
            ),
            ("--session-idle-timeout", self.session_idle_timeout),
            ("--session-init-timeout", self.session_init_timeout),
        ] {
            if value == 0 {
                return Err(invalid(flag, 0, "must be at least 1"));
            }
        }
        Ok(SessionLimits {
            max_sessions: self.max_sessions,
            max_sessions_per_principal: self.max_sessions_per_principal,
            init_timeout: Duration::from_secs(self.session_init_timeout),
            idle_timeout: Duration::from_secs(self.session_idle_timeout),
        })
    }

    /// The tokens from `--auth-token`, `--auth-token-file` and `--tokens-file`.
    fn tokens(&self) -> Result<Tokens, Error> {
        let mut tokens = Vec::new();
        if let Some(token) = &self.auth_token {
            tokens.push((Principal::new("default"), checked("--auth-token", token)?));
        }
        if let Some(path) = &self.auth_token_file {
            let token = read("--auth-token-file", path)?;
            tokens.push((
                Principal::new("default"),
                checked("--auth-token-file", &token)?,
            ));
        }
        if let Some(path) = &self.tokens_file {
            let text = read("--tokens-file", path)?;
            for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let Some((name, token)) = line.split_once(char::is_whitespace) else {
                    let reason = format!("line {number} is not `name token`");
                    return Err(invalid("--tokens-file", path.display(), reason));
                };
                if name == LOCAL || name == "anonymous" || name == "reaper" {
                    let reason =
                        format!("line {number}: the name {name:?} is reserved; pick another");
                    return Err(invalid("--tokens-file", path.display(), reason));
                }
                tokens.push((Principal::new(name), checked("--tokens-file", token)?));
            }
        }
        Ok(Tokens::new(tokens))
    }
}

impl SecurityArgs {
    /// The key of Kubernetes children's tokens: `--child-key-file`'s, or a random one.
    ///
    /// # Errors
    /// When the file cannot be read or holds a key shorter than [`MIN_KEY_LEN`].
    pub fn child_tokens(&self) -> Result<ChildTokens, Error> {
        let Some(path) = &self.child_key_file else {
            return Ok(ChildTokens::default());
        };
        let key = read("--child-key-file", path)?;
        let key = key.trim();
        if key.len() < MIN_KEY_LEN {
            let reason = format!(
                "the key must have at least {MIN_KEY_LEN} characters (e.g. openssl rand -hex 32)"
            );
            return Err(invalid("--child-key-file", path.display(), reason));
        }
        Ok(ChildTokens::from_key(key.as_bytes()))
    }
}

fn read(name: &'static str, path: &PathBuf) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map_err(|e| invalid(name, path.display(), format!("cannot read it: {e}")))
}

/// The token trimmed, if it is long enough. Its value never appears in the error.
fn checked(name: &'static str, token: &str) -> Result<String, Error> {
    let token = token.trim();
    if token.len() < MIN_TOKEN_LEN {
        let reason = format!(
            "a token must have at least {MIN_TOKEN_LEN} characters (e.g. openssl rand -hex 32)"
        );
        return Err(invalid(name, "<redacted>", reason));
    }
    Ok(token.to_owned())
}
