//! The daemon's permissions in `deploy/` (and each overlay) are exactly what the Kubernetes
//! backend calls: every request of a whole child lifecycle on the mocked API server is mapped
//! to its RBAC verb and resource, and compared with the rules `kubectl kustomize` renders for
//! the daemon's ServiceAccount. A new call without a permission, or a permission no call
//! needs, fails here.

use std::{collections::BTreeSet, path::Path, time::Duration};

use http::Method;
use serde_json::{Value, json};

use super::{Expect, NS, backend_with, list, pod, verified};
use crate::{
    backend::{
        Backend, ChildMeta, Progress,
        kubernetes::{JobSettings, RbacPresets, objects, rbac::preset_cluster_role},
    },
    model::{EphemeralMcpServerConfig, RbacPreset, ServiceAccountConfig},
};

const JOB: &str = "time-1-abcdefgh";

/// (API group, resource, verb), e.g. ("batch", "jobs", "create").
type Permission = (String, String, String);

fn permission(group: &str, resource: &str, verb: &str) -> Permission {
    (group.to_owned(), resource.to_owned(), verb.to_owned())
}

/// The RBAC permission one request needs.
fn needed(method: &Method, path: &str, query: &str) -> Permission {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => panic!("unexpected path {path}"),
    };
    let rest = match rest {
        ["namespaces", _ns, rest @ ..] => rest,
        rest => rest,
    };
    let (resource, named) = match rest {
        [resource] => ((*resource).to_owned(), false),
        [resource, _name] => ((*resource).to_owned(), true),
        [resource, _name, sub, ..] => (format!("{resource}/{sub}"), true),
        _ => panic!("unexpected path {path}"),
    };
    let verb = match (method.as_str(), named) {
        ("GET", true) => "get",
        ("GET", false) if query.contains("watch=true") => "watch",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PATCH", _) => "patch",
        ("PUT", _) => "update",
        ("DELETE", _) => "delete",
        other => panic!("unexpected {other:?}"),
    };
    permission(group, &resource, verb)
}

fn config(presets: RbacPresets) -> EphemeralMcpServerConfig {
    let mut config = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time");
    if presets != RbacPresets::Off {
        config.sa_config = Some(ServiceAccountConfig {
            preset: RbacPreset::Minimal,
            cluster_wide: presets == RbacPresets::ClusterWide,
        });
    }
    config
}

fn path(group: &str, resource: &str) -> String {
    format!("{group}/namespaces/{NS}/{resource}")
}

const RBAC: &str = "/apis/rbac.authorization.k8s.io/v1";

/// Every call of a child's life: create, wait, status, mount, delete (waiting), adopt.
async fn lifecycle(presets: RbacPresets) -> BTreeSet<Permission> {
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": JOB, "namespace": NS}});
    let mut expected = Vec::new();
    if presets != RbacPresets::Off {
        expected.push(
            Expect::get(format!("{RBAC}/clusterroles/mcp-ephemeral-k8s-minimal"))
                .reply(serde_json::to_value(preset_cluster_role(RbacPreset::Minimal)).unwrap()),
        );
    }
    expected.push(Expect::post(path("/api/v1", "secrets")));
    if presets != RbacPresets::Off {
        expected.push(Expect::post(path("/api/v1", "serviceaccounts")));
        if presets == RbacPresets::ClusterWide {
            expected.push(Expect::post(format!("{RBAC}/clusterrolebindings")));
        } else {
            expected.push(Expect::post(path(RBAC, "rolebindings")));
        }
    }
    expected.extend([
        Expect::post(path("/apis/batch/v1", "jobs")),
        Expect::post(path("/api/v1", "services")),
        // No pod yet: the Job's events are read for a failure to make one.
        Expect::get(path("/api/v1", "pods")).reply(list("PodList", vec![])),
        Expect::get(path("/api/v1", "events"))
            .query("fieldSelector=involvedObject.kind=Job")
            .reply(list("EventList", vec![])),
        Expect::get(path("/api/v1", "pods"))
            .query("watch=true")
            .events(&[("MODIFIED", pod(JOB, "Running", true, None, None))]),
        Expect::get(format!("{}/{JOB}", path("/apis/batch/v1", "jobs"))).reply(job.clone()),
        Expect::get(path("/api/v1", "pods"))
            .reply(list("PodList", vec![pod(JOB, "Running", true, None, None)])),
        Expect::get(format!("{}/{JOB}-abcde/log", path("/api/v1", "pods"))).text("ready"),
        Expect::patch(format!("{}/{JOB}", path("/apis/batch/v1", "jobs"))).reply(job),
    ]);
    // Delete (waiting): what the Job says the child has, then a watch until it is gone.
    let made = serde_json::to_value(
        objects::build(
            JOB,
            NS,
            &config(presets),
            &ChildMeta::default(),
            &super::settings(),
        )
        .unwrap()
        .job,
    )
    .unwrap();
    expected.extend([
        Expect::get(format!("{}/{JOB}", path("/apis/batch/v1", "jobs"))).reply(made.clone()),
        Expect::delete(format!("{}/{JOB}", path("/api/v1", "services"))),
        Expect::delete(format!("{}/{JOB}", path("/apis/batch/v1", "jobs"))),
    ]);
    if presets == RbacPresets::ClusterWide {
        expected.push(Expect::delete(format!("{RBAC}/clusterrolebindings/{JOB}")));
    } else if presets != RbacPresets::Off {
        expected.push(Expect::delete(format!(
            "{}/{JOB}",
            path(RBAC, "rolebindings")
        )));
    }
    if presets != RbacPresets::Off {
        expected.push(Expect::delete(format!(
            "{}/{JOB}",
            path("/api/v1", "serviceaccounts")
        )));
    }
    expected.push(Expect::delete(format!(
        "{}/{JOB}",
        path("/api/v1", "secrets")
    )));
    expected.extend([
        Expect::get(path("/apis/batch/v1", "jobs"))
            .query(&format!("fieldSelector=metadata.name={JOB}"))
            .reply(list("JobList", vec![made.clone()])),
        Expect::get(path("/apis/batch/v1", "jobs"))
            .query("watch=true")
            .events(&[("DELETED", made)]),
        Expect::get(path("/apis/batch/v1", "jobs"))
            .query("labelSelector=")
            .reply(list("JobList", vec![])),
    ]);
    let settings = JobSettings {
        rbac_presets: presets,
        ..super::settings()
    };
    let (backend, verifier, seen) = backend_with(expected, settings);
    backend
        .create(
            JOB,
            &config(presets),
            &ChildMeta::default(),
            &Progress::default(),
        )
        .await
        .unwrap();
    backend
        .wait_ready(JOB, Duration::from_secs(10), &Progress::default())
        .await
        .unwrap();
    backend.status(JOB).await.unwrap();
    backend
        .record_mount(JOB, Some(&crate::model::MountRecord::default()))
        .await
        .unwrap();
    backend.delete(JOB, true).await.unwrap();
    backend.adopt(true).await.unwrap();
    verified(verifier).await;
    let mut used: BTreeSet<Permission> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(m, p, q)| needed(m, p, q))
        .collect();
    if presets != RbacPresets::Off {
        // Creating a binding to a role one does not hold needs `bind` on it (no HTTP call).
        used.insert(permission(
            "rbac.authorization.k8s.io",
            "clusterroles",
            "bind",
        ));
    }
    used
}

/// The rules `kubectl kustomize dir` grants the daemon's ServiceAccount (through its Role and
/// RoleBindings, and ClusterRoles bound to it).
fn granted(dir: &str) -> BTreeSet<Permission> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let output = std::process::Command::new("kubectl")
        .args(["kustomize", root.to_str().unwrap()])
        .output()
        .expect("kubectl is needed to render deploy/ (it ships kustomize); install kubectl");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let daemon_binding = |doc: &&Value| {
        doc["subjects"].as_array().is_some_and(|subjects| {
            subjects
                .iter()
                .any(|s| s["kind"] == "ServiceAccount" && s["name"] == "mcp-ephemeral-k8s")
        })
    };
    let roles: Vec<(String, String)> = docs
        .iter()
        .filter(|d| {
            matches!(
                d["kind"].as_str(),
                Some("RoleBinding" | "ClusterRoleBinding")
            )
        })
        .filter(daemon_binding)
        .map(|b| {
            (
                b["roleRef"]["kind"].as_str().unwrap().to_owned(),
                b["roleRef"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut granted = BTreeSet::new();
    for doc in &docs {
        let (kind, name) = (
            doc["kind"].as_str().unwrap_or_default(),
            doc["metadata"]["name"].as_str().unwrap_or_default(),
        );
        if !roles.iter().any(|(k, n)| k == kind && n == name) {
            continue;
        }
        for rule in doc["rules"].as_array().into_iter().flatten() {
            for group in rule["apiGroups"].as_array().unwrap() {
                for resource in rule["resources"].as_array().unwrap() {
                    for verb in rule["verbs"].as_array().unwrap() {
                        granted.insert(permission(
                            group.as_str().unwrap(),
                            resource.as_str().unwrap(),
                            verb.as_str().unwrap(),
                        ));
                    }
                }
            }
        }
    }
    granted
}

#[tokio::test]
async fn deploy_grants_exactly_what_the_backend_calls() {
    assert_eq!(granted("deploy"), lifecycle(RbacPresets::Off).await);
}

#[tokio::test]
async fn the_presets_overlay_grants_exactly_what_namespaced_presets_call() {
    assert_eq!(
        granted("deploy/overlays/rbac-presets"),
        lifecycle(RbacPresets::Namespaced).await
    );
}

#[tokio::test]
async fn the_cluster_wide_overlay_grants_exactly_what_cluster_wide_presets_call() {
    // Such a daemon serves both kinds of presets.
    let mut used = lifecycle(RbacPresets::ClusterWide).await;
    used.extend(lifecycle(RbacPresets::Namespaced).await);
    assert_eq!(granted("deploy/overlays/cluster-wide-presets"), used);
}

#[test]
fn the_installed_preset_roles_are_the_codes() {
    let installed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/overlays/rbac-presets/preset-clusterroles.yaml"),
    )
    .unwrap();
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&installed)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let code: Vec<Value> = [RbacPreset::Minimal, RbacPreset::Extensive]
        .into_iter()
        .map(|p| serde_json::to_value(preset_cluster_role(p)).unwrap())
        .collect();
    assert_eq!(
        docs, code,
        "deploy/overlays/rbac-presets/preset-clusterroles.yaml differs from rbac::preset_cluster_role"
    );
}
