//! The command line (clap derive; every flag also reads `MCP_EPHEMERAL_K8S_<FLAG>`) and
//! its validation into [`ServeConfig`] and [`BridgeOptions`], before any port is bound.

use std::{
    net::{SocketAddr, ToSocketAddrs},
    path::PathBuf,
    time::Duration,
};

use clap::{Args, Parser, Subcommand, ValueEnum};

mod bridge;
mod local;
mod packages;
mod pools;
mod registry;
mod security;

pub use bridge::BridgeArgs;
pub use local::LocalArgs;
pub use packages::PackageArgs;
pub use pools::PoolArgs;
pub use registry::RegistryArgs;
pub use security::SecurityArgs;

use crate::{
    http::{CorsPolicy, DEFAULT_MAX_BODY_BYTES},
    manager::{DEFAULT_READY_TIMEOUT, MAX_READY_TIMEOUT},
    model::naming::{is_dns1123_label, is_label_value},
};

/// A setting is not valid; the message names it, its value and the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One flag (or its environment variable) has a bad value.
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        /// The flag, e.g. `--host`.
        name: &'static str,
        /// What was given.
        value: String,
        /// Why it is wrong and what would be right.
        reason: String,
    },
}

fn invalid(name: &'static str, value: impl ToString, reason: impl Into<String>) -> Error {
    Error::Invalid {
        name,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Start, use and throw away MCP servers on demand.
#[derive(Debug, Parser)]
#[command(name = "mcp-ephemeral-k8s", version, about, long_about = None)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "MCP_EPHEMERAL_K8S_LOG_FORMAT")]
    pub log_format: LogFormat,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the MCP meta-server (the default).
    Serve(Box<ServeArgs>),
    /// Serve one stdio MCP server over SSE and streamable HTTP (what every child runs).
    Bridge(BridgeArgs),
    /// Print the presets as JSON.
    Presets {
        /// Directory of extra `*.yaml` presets.
        #[arg(long, env = "MCP_EPHEMERAL_K8S_PRESETS_DIR")]
        presets_dir: Option<PathBuf>,
    },
    /// Print the version.
    Version,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// How MCP clients reach the meta-server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// HTTP: `/sse` + `/messages/`, `/mcp` and `/health` on one port.
    Sse,
    /// Same as `sse`: every HTTP transport is served on the one port.
    Http,
    /// Same as `sse`: every HTTP transport is served on the one port.
    StreamableHttp,
    /// MCP on stdin/stdout, for clients that start the daemon themselves.
    Stdio,
}

/// Where children run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// Kubernetes when a kubeconfig or in-cluster config is found, else local.
    Auto,
    /// Jobs in a Kubernetes cluster.
    Kubernetes,
    /// Child processes on this machine.
    Local,
}

/// `serve` flags.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Transport: sse, http and streamable-http all serve every HTTP endpoint; stdio uses
    /// stdin/stdout.
    #[arg(long, value_enum, default_value_t = Transport::Sse, env = "MCP_EPHEMERAL_K8S_TRANSPORT")]
    pub transport: Transport,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "MCP_EPHEMERAL_K8S_HOST")]
    pub host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 8000, env = "MCP_EPHEMERAL_K8S_PORT")]
    pub port: u16,
    /// Kubernetes namespace for children (default: the pod's own, else the kubeconfig
    /// context's, else `default`).
    #[arg(long, env = "MCP_EPHEMERAL_K8S_NAMESPACE")]
    pub namespace: Option<String>,
    /// Where children run.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto, env = "MCP_EPHEMERAL_K8S_BACKEND")]
    pub backend: BackendChoice,
    /// The kubeconfig context to use (default: the current one).
    #[arg(long, env = "MCP_EPHEMERAL_K8S_KUBE_CONTEXT")]
    pub kube_context: Option<String>,
    /// The image children run in when a request names none (it provides the bridge, uvx
    /// and npx).
    #[arg(long, default_value = crate::model::DEFAULT_RUNTIME_IMAGE, env = "MCP_EPHEMERAL_K8S_RUNTIME_IMAGE")]
    pub runtime_image: String,
    /// Name of this daemon on its children (a label), so daemons sharing a namespace adopt
    /// only their own after a restart.
    #[arg(
        long,
        default_value = "mcp-ephemeral-k8s",
        env = "MCP_EPHEMERAL_K8S_OWNER"
    )]
    pub owner: String,
    /// Which RBAC presets children may ask for (`sa_config`): `off`, `namespaced`, or
    /// `cluster-wide`; match it to the daemon's own permissions (deploy/ and its overlays).
    #[arg(long, value_enum, default_value_t = crate::backend::kubernetes::RbacPresets::Namespaced, env = "MCP_EPHEMERAL_K8S_RBAC_PRESETS")]
    pub rbac_presets: crate::backend::kubernetes::RbacPresets,
    /// Seconds a finished child's Job (and its logs) stays before Kubernetes removes it.
    #[arg(long, default_value_t = 300, env = "MCP_EPHEMERAL_K8S_JOB_TTL")]
    pub job_ttl: u32,
    /// On start, delete the children a previous daemon left that finished or whose owner
    /// (principal) can no longer connect; the others are adopted either way.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, env = "MCP_EPHEMERAL_K8S_GC")]
    pub gc: bool,
    /// Browser origins allowed to call the HTTP endpoints (comma-separated or repeated);
    /// `*` allows any origin without credentials. Default: none.
    #[arg(long, value_delimiter = ',', env = "MCP_EPHEMERAL_K8S_ALLOW_ORIGINS")]
    pub allow_origins: Vec<String>,
    /// Directory of extra `*.yaml` presets (replacing built-in ones of the same name).
    #[arg(long, env = "MCP_EPHEMERAL_K8S_PRESETS_DIR")]
    pub presets_dir: Option<PathBuf>,
    /// Seconds a child gets to become ready when `wait_for_ready` is set.
    #[arg(long, default_value_t = DEFAULT_READY_TIMEOUT.as_secs(), env = "MCP_EPHEMERAL_K8S_READY_TIMEOUT")]
    pub ready_timeout: u64,
    /// Leave children running when the daemon stops (Kubernetes backend).
    #[arg(long, env = "MCP_EPHEMERAL_K8S_KEEP_CHILDREN")]
    pub keep_children: bool,
    /// Largest accepted HTTP request body, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES, env = "MCP_EPHEMERAL_K8S_MAX_BODY_BYTES")]
    pub max_body_bytes: usize,
    /// Authentication, Host checks, allowlists and limits.
    #[command(flatten)]
    pub security: SecurityArgs,
    /// The sandbox and environment of local children.
    #[command(flatten)]
    pub local: LocalArgs,
    /// Where children get their packages from.
    #[command(flatten)]
    pub packages: PackageArgs,
    /// Warm pools.
    #[command(flatten)]
    pub pools: PoolArgs,
    /// An MCP Registry to create servers from.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Seconds open sessions and children get to finish on SIGTERM.
    #[arg(long, default_value_t = 10, env = "MCP_EPHEMERAL_K8S_SHUTDOWN_GRACE")]
    pub shutdown_grace: u64,
    /// Threads serving requests: 0 for one per CPU core, 1 for a single-threaded daemon.
    #[arg(long, default_value_t = 0, env = "MCP_EPHEMERAL_K8S_WORKER_THREADS")]
    pub worker_threads: usize,
    /// Accepted for compatibility with the Python original; there is no banner.
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "true", env = "MCP_EPHEMERAL_K8S_SHOW_BANNER")]
    pub show_banner: Option<bool>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        // Parsing no flags gives the documented defaults.
        match Cli::parse_from(["mcp-ephemeral-k8s", "serve"]).command {
            Some(Command::Serve(args)) => *args,
            _ => unreachable!("`serve` parses as Command::Serve"),
        }
    }
}

/// Validated `serve` settings.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// How clients connect.
    pub transport: Transport,
    /// Where to listen (HTTP transports).
    pub bind: SocketAddr,
    /// Kubernetes namespace, if given.
    pub namespace: Option<String>,
    /// Where children run.
    pub backend: BackendChoice,
    /// Kubeconfig context.
    pub kube_context: Option<String>,
    /// Settings of the Jobs (Kubernetes backend).
    pub job: crate::backend::kubernetes::JobSettings,
    /// Delete finished children left by a previous daemon.
    pub gc: bool,
    /// Browser origins allowed.
    pub cors: CorsPolicy,
    /// Extra presets.
    pub presets_dir: Option<PathBuf>,
    /// Default readiness timeout.
    pub ready_timeout: Duration,
    /// `--warm-pool` entries: presets and how many of each to keep ready.
    pub warm_pools: Vec<(String, usize)>,
    /// `--max-pool`: most pool members in all.
    pub max_pool: usize,
    /// The MCP Registry (`--registry-url` or `--registry-dir`).
    pub registry: Option<crate::registry::Registry>,
    /// Keep children on shutdown.
    pub keep_children: bool,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Authentication and Host/Origin checks.
    pub guard: crate::http::Guard,
    /// The caps and timeouts of MCP sessions.
    pub sessions: crate::model::SessionLimits,
    /// The listener's header deadline and connection cap.
    pub listener: crate::http::ListenerLimits,
    /// How local children are placed and confined.
    pub local: crate::backend::local::LocalSettings,
    /// Allowlists and limits.
    pub policy: crate::policy::Policy,
    /// Serve `/metrics` without authentication.
    pub metrics_open: bool,
    /// Drain deadline on shutdown.
    pub shutdown_grace: Duration,
}

impl ServeConfig {
    /// Validates `serve` flags.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the first bad flag.
    pub fn from_args(args: &ServeArgs) -> Result<Self, Error> {
        let bind = resolve("--host", &args.host, args.port)?;
        let cors = CorsPolicy::parse(&args.allow_origins)
            .map_err(|reason| invalid("--allow-origins", args.allow_origins.join(","), reason))?;
        if args.ready_timeout == 0 || args.ready_timeout > MAX_READY_TIMEOUT.as_secs() {
            let reason = format!(
                "must be between 1 and {} seconds",
                MAX_READY_TIMEOUT.as_secs()
            );
            return Err(invalid("--ready-timeout", args.ready_timeout, reason));
        }
        if !is_label_value(&args.owner) {
            let reason =
                "must be a Kubernetes label value (letters, digits, -, _ and ., at most 63)";
            return Err(invalid("--owner", &args.owner, reason));
        }
        if args.runtime_image.trim().is_empty() || args.runtime_image.contains(char::is_whitespace)
        {
            return Err(invalid(
                "--runtime-image",
                &args.runtime_image,
                "must be an image reference",
            ));
        }
        if args.worker_threads > 1024 {
            return Err(invalid(
                "--worker-threads",
                args.worker_threads,
                "must be at most 1024 (0 means one per core)",
            ));
        }
        if args.max_body_bytes < 1024 {
            return Err(invalid(
                "--max-body-bytes",
                args.max_body_bytes,
                "must be at least 1024",
            ));
        }
        if let Some(ns) = &args.namespace
            && !is_dns1123_label(ns)
        {
            let reason = "must be a Kubernetes namespace name (lowercase letters, digits and -)";
            return Err(invalid("--namespace", ns, reason));
        }
        let exposed = !bind.ip().is_loopback() && args.transport != Transport::Stdio;
        let guard = args
            .security
            .guard(bind, exposed, cors.clone(), &args.host)?;
        let policy = args.security.policy()?;
        let active_deadline_seconds = policy
            .limits
            .max_lifetime
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let secret_files = [
            &args.security.auth_token_file,
            &args.security.tokens_file,
            &args.security.child_key_file,
        ];
        let hidden = secret_files.into_iter().flatten().cloned().collect();
        let package_env = args.packages.env()?;
        Ok(Self {
            guard,
            local: args.local.settings(hidden, package_env.clone()),
            listener: args.security.listener()?,
            sessions: args.security.sessions()?,
            policy,
            metrics_open: args.security.metrics_open,
            transport: args.transport,
            bind,
            namespace: args.namespace.clone(),
            backend: args.backend,
            kube_context: args.kube_context.clone(),
            job: crate::backend::kubernetes::JobSettings {
                rbac_presets: args.rbac_presets,
                runtime_image: args.runtime_image.clone(),
                owner: args.owner.clone(),
                ttl_seconds_after_finished: i32::try_from(args.job_ttl).unwrap_or(i32::MAX),
                active_deadline_seconds,
                tokens: args.security.child_tokens()?,
                package_env,
                package_cache: args.packages.cache_claim()?,
            },
            gc: args.gc,
            cors,
            presets_dir: args.presets_dir.clone(),
            ready_timeout: Duration::from_secs(args.ready_timeout),
            warm_pools: args.pools.targets()?,
            max_pool: args.pools.max_pool,
            registry: args.registry.registry()?,
            keep_children: args.keep_children,
            max_body_bytes: args.max_body_bytes,
            shutdown_grace: Duration::from_secs(args.shutdown_grace),
        })
    }
}

/// `host:port` as a socket address (an IPv6 host may come without brackets).
fn resolve(name: &'static str, host: &str, port: u16) -> Result<SocketAddr, Error> {
    let host_port = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    host_port
        .to_socket_addrs()
        .map_err(|e| invalid(name, host, format!("cannot resolve it: {e}")))?
        .next()
        .ok_or_else(|| invalid(name, host, "it resolves to no address"))
}

#[cfg(test)]
mod tests;
