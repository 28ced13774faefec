//! mcp-ephemeral-k8s: start, use and throw away MCP servers on demand.
//!
//! An MCP meta-server whose tools create MCP servers (`uvx mcp-server-time`,
//! `npx @modelcontextprotocol/server-everything`, presets) as Kubernetes Jobs or local
//! processes, each behind this crate's bridge, and delete them when done. It is also a
//! library: [`SessionManager`] does the same from Rust.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mcp_ephemeral_k8s::Error> {
//! use mcp_ephemeral_k8s::{EphemeralMcpServerConfig, SessionManager};
//!
//! let manager = SessionManager::local()?;
//! let server = manager
//!     .create_mcp_server(EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time"), true, true)
//!     .await?;
//! println!("MCP at {}", server.url);
//! manager.delete_mcp_server(&server.job_name, true).await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`access`]: principals, ownership of children and mounts, the audit log.
//! - [`config`]: the command line and its validation.
//! - [`daemon`]: running the meta-server until shutdown.
//! - [`server`]: the HTTP router (`/health`, `/sse` + `/messages/`, `/mcp`) and stdio.
//! - [`transport`]: the legacy SSE transport, server and client.
//! - [`meta`]: the meta tools' MCP handler.
//! - [`session`]: [`SessionManager`], the registry over a backend.
//! - [`backend`]: where children run ([`backend::local`]).
//! - [`bridge`]: one stdio MCP server served over HTTP (what each child runs).
//! - [`proxy`]: forwarding between one upstream server and many client sessions.
//! - [`metrics`]: Prometheus metrics (`/metrics`).
//! - [`model`]: configurations, servers, statuses, names.
//! - [`policy`]: allowlists (runtimes, packages, images) and limits.
//! - [`presets`]: presets from `presets/*.yaml`.
//! - [`secrets`]: `${VAR}` and `${secret:NAME/KEY}` references in `env` values.
//! - [`process`]: process groups and signals.
//! - [`tls`]: the rustls provider for outgoing HTTPS.

pub mod access;
pub mod backend;
pub mod bridge;
pub mod config;
pub mod daemon;
mod error;
pub mod http;
pub mod manager;
pub mod meta;
pub mod metrics;
pub mod model;
pub mod mount;
pub mod policy;
pub mod presets;
pub mod process;
pub mod secrets;
pub mod sse;
pub mod sync;
pub mod tls;
pub mod upstream;

pub use error::{Error, Result};
pub use manager::SessionManager;
pub use model::{
    EphemeralMcpServer, EphemeralMcpServerConfig, ProbeConfig, RbacPreset, ServerStatus,
};
pub use presets::Preset;

/// The environment variable holding the log filter (`info`, `debug`,
/// `mcp_ephemeral_k8s=trace`…); `RUST_LOG` is read when it is unset.
pub const LOG_ENV: &str = "MCP_EPHEMERAL_K8S_LOG";
