//! Permissions for a child that asks for them (`sa_config`): a ServiceAccount named after
//! the child, bound to a Role in its namespace — or, only when `cluster_wide` is set, to a
//! ClusterRole. Children without `sa_config` get no ServiceAccount token at all.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{
        core::v1::ServiceAccount,
        rbac::v1::{
            ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
        },
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};

use crate::model::{RbacPreset, ServiceAccountConfig};

/// Read-only verbs.
const READ: &[&str] = &["get", "list", "watch"];

/// Full management verbs.
const MANAGE: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];

/// A child's ServiceAccount, its permissions and their binding.
#[derive(Debug, Clone)]
pub struct Rbac {
    /// The account the child's pod runs as.
    pub service_account: ServiceAccount,
    /// Its permissions: a Role, or a ClusterRole when cluster-wide.
    pub role: Permissions,
    /// The binding of the role to the account.
    pub binding: Binding,
}

/// A Role or a ClusterRole.
#[derive(Debug, Clone)]
pub enum Permissions {
    /// In the child's namespace.
    Namespaced(Role),
    /// In every namespace.
    ClusterWide(ClusterRole),
}

/// A RoleBinding or a ClusterRoleBinding.
#[derive(Debug, Clone)]
pub enum Binding {
    /// In the child's namespace.
    Namespaced(RoleBinding),
    /// In every namespace.
    ClusterWide(ClusterRoleBinding),
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let owned = |items: &[&str]| Some(items.iter().map(|s| (*s).to_owned()).collect());
    PolicyRule {
        api_groups: owned(groups),
        resources: owned(resources),
        verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
        ..PolicyRule::default()
    }
}

/// The rules of a preset. `minimal` reads workloads but not Secrets (the Python original's
/// minimal preset could read every Secret in the cluster); `extensive` is the original's set
/// for a Kubernetes-managing MCP server.
pub fn rules(preset: RbacPreset) -> Vec<PolicyRule> {
    match preset {
        RbacPreset::Minimal => vec![rule(
            &[""],
            &["pods", "services", "configmaps", "events"],
            READ,
        )],
        RbacPreset::Extensive => vec![
            rule(
                &[""],
                &[
                    "pods",
                    "services",
                    "configmaps",
                    "secrets",
                    "persistentvolumeclaims",
                    "namespaces",
                    "nodes",
                    "serviceaccounts",
                ],
                MANAGE,
            ),
            rule(
                &[""],
                &["pods/exec", "pods/log", "pods/status"],
                &["get", "list", "create"],
            ),
            rule(
                &["apps"],
                &["deployments", "statefulsets", "daemonsets", "replicasets"],
                MANAGE,
            ),
            rule(&["batch"], &["jobs", "cronjobs"], MANAGE),
            rule(
                &["networking.k8s.io"],
                &["ingresses", "networkpolicies"],
                MANAGE,
            ),
            rule(
                &["rbac.authorization.k8s.io"],
                &[
                    "roles",
                    "rolebindings",
                    "clusterroles",
                    "clusterrolebindings",
                ],
                MANAGE,
            ),
            rule(&["storage.k8s.io"], &["storageclasses"], READ),
            rule(&["policy"], &["poddisruptionbudgets"], MANAGE),
            rule(&["autoscaling"], &["horizontalpodautoscalers"], MANAGE),
            rule(&[""], &["events"], &["get", "list", "watch", "create"]),
            rule(&["apiregistration.k8s.io"], &["apiservices"], MANAGE),
        ],
    }
}

/// The RBAC objects for child `name`.
pub fn build(
    name: &str,
    namespace: &str,
    config: &ServiceAccountConfig,
    labels: &BTreeMap<String, String>,
) -> Rbac {
    let meta = |namespaced: bool| ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespaced.then(|| namespace.to_owned()),
        labels: Some(labels.clone()),
        ..ObjectMeta::default()
    };
    let rules = Some(rules(config.preset));
    let subjects = Some(vec![Subject {
        kind: "ServiceAccount".to_owned(),
        name: name.to_owned(),
        namespace: Some(namespace.to_owned()),
        ..Subject::default()
    }]);
    let role_ref = |kind: &str| RoleRef {
        api_group: "rbac.authorization.k8s.io".to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
    };
    let (role, binding) = if config.cluster_wide {
        (
            Permissions::ClusterWide(ClusterRole {
                metadata: meta(false),
                rules,
                ..ClusterRole::default()
            }),
            Binding::ClusterWide(ClusterRoleBinding {
                metadata: meta(false),
                role_ref: role_ref("ClusterRole"),
                subjects,
            }),
        )
    } else {
        (
            Permissions::Namespaced(Role {
                metadata: meta(true),
                rules,
            }),
            Binding::Namespaced(RoleBinding {
                metadata: meta(true),
                role_ref: role_ref("Role"),
                subjects,
            }),
        )
    };
    Rbac {
        service_account: ServiceAccount {
            metadata: meta(true),
            automount_service_account_token: Some(true),
            ..ServiceAccount::default()
        },
        role,
        binding,
    }
}
