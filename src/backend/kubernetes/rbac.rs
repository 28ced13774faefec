//! Permissions for a child that asks for them (`sa_config`): a ServiceAccount named after
//! the child, and a RoleBinding in its namespace — or, only when `cluster_wide` is set, a
//! ClusterRoleBinding — to the preset's ClusterRole (`mcp-ephemeral-k8s-minimal` or
//! `-extensive`). The preset ClusterRoles are installed once with the daemon
//! (`deploy/overlays/rbac-presets`), so the daemon never writes role rules itself: it needs
//! only `bind` on those two roles, not `escalate`. Children without `sa_config` get no
//! ServiceAccount token at all.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{
        core::v1::ServiceAccount,
        rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleBinding, RoleRef, Subject},
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

/// A child's ServiceAccount and the binding of its preset's ClusterRole to it.
#[derive(Debug, Clone)]
pub struct Rbac {
    /// The account the child's pod runs as.
    pub service_account: ServiceAccount,
    /// The preset's ClusterRole name, which must exist.
    pub cluster_role: String,
    /// The binding of the preset's role to the account.
    pub binding: Binding,
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

/// The name of a preset's ClusterRole.
pub fn cluster_role_name(preset: RbacPreset) -> String {
    match preset {
        RbacPreset::Minimal => "mcp-ephemeral-k8s-minimal".to_owned(),
        RbacPreset::Extensive => "mcp-ephemeral-k8s-extensive".to_owned(),
    }
}

/// A preset's ClusterRole, as installed with the daemon (`deploy/overlays/rbac-presets`).
pub fn preset_cluster_role(preset: RbacPreset) -> ClusterRole {
    let managed_by = super::labels::MANAGED_BY;
    ClusterRole {
        metadata: ObjectMeta {
            name: Some(cluster_role_name(preset)),
            labels: Some(BTreeMap::from([(
                managed_by.0.to_owned(),
                managed_by.1.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        rules: Some(rules(preset)),
        ..ClusterRole::default()
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
    let cluster_role = cluster_role_name(config.preset);
    let subjects = Some(vec![Subject {
        kind: "ServiceAccount".to_owned(),
        name: name.to_owned(),
        namespace: Some(namespace.to_owned()),
        ..Subject::default()
    }]);
    let role_ref = RoleRef {
        api_group: "rbac.authorization.k8s.io".to_owned(),
        kind: "ClusterRole".to_owned(),
        name: cluster_role.clone(),
    };
    let binding = if config.cluster_wide {
        Binding::ClusterWide(ClusterRoleBinding {
            metadata: meta(false),
            role_ref,
            subjects,
        })
    } else {
        Binding::Namespaced(RoleBinding {
            metadata: meta(true),
            role_ref,
            subjects,
        })
    };
    Rbac {
        service_account: ServiceAccount {
            metadata: meta(true),
            automount_service_account_token: Some(true),
            ..ServiceAccount::default()
        },
        cluster_role,
        binding,
    }
}
