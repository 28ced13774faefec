//! What a child's pod gets on Kubernetes besides its command: the readiness probe and,
//! when asked for, a ServiceAccount with an RBAC preset.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The readiness probe settings of a child pod: the Python original's, about five minutes
/// for a first `uvx`/`npx` install, but for the first probe, which comes at once (the
/// original waited 10 s, a floor under every create on a real kubelet; the bridge answers
/// `/health` 503 until its server is ready anyway).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ProbeConfig {
    /// Seconds before the first probe.
    pub initial_delay_seconds: i32,
    /// Seconds between probes.
    pub period_seconds: i32,
    /// Seconds before a probe times out.
    pub timeout_seconds: i32,
    /// Successes needed to become ready.
    pub success_threshold: i32,
    /// Failures before the pod counts as not ready.
    pub failure_threshold: i32,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            initial_delay_seconds: 0,
            period_seconds: 1,
            timeout_seconds: 2,
            success_threshold: 1,
            failure_threshold: 300,
        }
    }
}

/// Which permissions a child's ServiceAccount gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RbacPreset {
    /// Read pods, services and configmaps.
    Minimal,
    /// Manage most workload, networking and RBAC objects (for a Kubernetes MCP server).
    Extensive,
}

/// A ServiceAccount for the child with an RBAC preset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceAccountConfig {
    /// The permissions to grant.
    #[serde(default = "default_preset")]
    pub preset: RbacPreset,
    /// Grant them in every namespace (ClusterRole) instead of the child's own (Role).
    #[serde(default)]
    pub cluster_wide: bool,
}

fn default_preset() -> RbacPreset {
    RbacPreset::Minimal
}
