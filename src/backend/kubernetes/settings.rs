//! [`JobSettings`]: what the daemon decides for every child's objects, whatever the request.

use super::tokens::ChildTokens;
use crate::model::DEFAULT_RUNTIME_IMAGE;

/// Which RBAC presets children may ask for (`--rbac-presets`), matching what the daemon's
/// own permissions allow (`deploy/` and its overlays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RbacPresets {
    /// None: children never get cluster permissions (`kubectl apply -k deploy/`).
    Off,
    /// In the children's namespace (`deploy/overlays/rbac-presets`).
    #[default]
    Namespaced,
    /// Also cluster-wide (`deploy/overlays/cluster-wide-presets`).
    ClusterWide,
}

/// Settings that are the daemon's, not the request's.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Which RBAC presets children may ask for.
    pub rbac_presets: RbacPresets,
    /// The runtime image used when the request did not name one.
    pub runtime_image: String,
    /// Who owns the children (the `--owner` label value).
    pub owner: String,
    /// Seconds a finished Job (and its pod and logs) stays before Kubernetes removes it.
    pub ttl_seconds_after_finished: i32,
    /// Hard limit on a child's life, in seconds.
    pub active_deadline_seconds: Option<i64>,
    /// The key of the tokens children's bridges demand (`--child-key-file`).
    pub tokens: ChildTokens,
    /// Variables every child gets: where packages come from (`--pip-index-url`,
    /// `--npm-registry`).
    pub package_env: Vec<(String, String)>,
    /// The PersistentVolumeClaim every child that runs a package mounts at the uv and npm
    /// cache paths (`--package-cache pvc:NAME`); `None`: each pod starts with the image's.
    pub package_cache: Option<String>,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            rbac_presets: RbacPresets::default(),
            runtime_image: DEFAULT_RUNTIME_IMAGE.to_owned(),
            owner: "mcp-ephemeral-k8s".to_owned(),
            ttl_seconds_after_finished: 300,
            active_deadline_seconds: None,
            tokens: ChildTokens::default(),
            package_env: Vec::new(),
            package_cache: None,
        }
    }
}
