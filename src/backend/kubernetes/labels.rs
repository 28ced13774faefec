//! The labels and annotations on every object of ours: how the daemon finds its children
//! again after a restart, and what it needs to adopt them.

use std::collections::BTreeMap;

/// The label every object of ours carries, so the daemon finds them again after a restart.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "mcp-ephemeral-k8s");

/// The label naming the child an object belongs to (its value is the job name).
pub const INSTANCE: &str = "app.kubernetes.io/instance";

/// The label telling which daemon owns a child (`--owner`), so daemons sharing a namespace
/// adopt only their own.
pub const OWNER: &str = "mcp-ephemeral-k8s.io/owner";

/// The label of a warm-pool member not handed out yet (its value is the preset): a
/// restarted daemon puts it back in the pool; handing it out removes the label.
pub const POOL: &str = "mcp-ephemeral-k8s.io/pool";

/// Annotation holding the child's configuration (env values redacted), for adoption.
pub const CONFIG_ANNOTATION: &str = "mcp-ephemeral-k8s.io/config";

/// Annotation holding the preset a child was created from.
pub const PRESET_ANNOTATION: &str = "mcp-ephemeral-k8s.io/preset";

/// Annotation holding the principal that created a child.
pub const OWNER_ANNOTATION: &str = "mcp-ephemeral-k8s.io/created-by";

/// Annotation marking a child every principal may use (`"true"`).
pub const SHARED_ANNOTATION: &str = "mcp-ephemeral-k8s.io/shared";

/// Annotation holding the name a child is mounted under (`""` for an unnamed mount), so a
/// restarted daemon mounts it again.
pub const MOUNT_ANNOTATION: &str = "mcp-ephemeral-k8s.io/mount";

/// Annotation holding the mount's tool selection (JSON), when it has one.
pub const SELECTION_ANNOTATION: &str = "mcp-ephemeral-k8s.io/mount-selection";

/// Annotation naming the key the child's token was derived from
/// ([`super::tokens::ChildTokens::key_id`]); absent when its bridge demands no token.
pub const TOKEN_KEY_ANNOTATION: &str = "mcp-ephemeral-k8s.io/token-key";

/// The key, in the child's Secret, of the token its bridge demands.
pub const TOKEN_SECRET_KEY: &str = "token";

/// The labels of every object of child `name`.
pub fn labels(name: &str, owner: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
        (INSTANCE.to_owned(), name.to_owned()),
        (OWNER.to_owned(), owner.to_owned()),
    ])
}

/// The label selector of every child of `owner`.
pub fn owner_selector(owner: &str) -> String {
    format!("{}={},{OWNER}={owner}", MANAGED_BY.0, MANAGED_BY.1)
}

/// The label selector of child `name`'s objects.
pub fn instance_selector(name: &str) -> String {
    format!("{}={},{INSTANCE}={name}", MANAGED_BY.0, MANAGED_BY.1)
}
