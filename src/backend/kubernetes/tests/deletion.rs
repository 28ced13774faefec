//! Deleting a child: what it has and nothing more (so a daemon allowed no RBAC objects never
//! asks to delete one), what may be left when its Job is gone, and waiting by watch.

use serde_json::{Value, json};

use super::backend as mocked;
use super::{Expect, NS, list, verified};
use crate::{
    backend::Backend,
    model::{EphemeralMcpServerConfig, RbacPreset, ServiceAccountConfig},
};

const JOB: &str = "mcp-server-time-1-abcdefgh";

fn job(annotations: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": JOB, "namespace": NS, "resourceVersion": "7", "annotations": annotations},
           "status": {"active": 1}})
}

fn at(group: &str, resource: &str) -> String {
    format!("{group}/namespaces/{NS}/{resource}/{JOB}")
}

fn jobs() -> String {
    format!("/apis/batch/v1/namespaces/{NS}/jobs")
}

const RBAC: &str = "/apis/rbac.authorization.k8s.io/v1";

#[tokio::test]
async fn delete_removes_what_the_child_has_and_no_more() {
    // A token and no RBAC preset: its Service, Job and Secret, and no RoleBinding (which a
    // daemon installed with the base Role may not delete).
    let plain = job(json!({"mcp-ephemeral-k8s.io/token-key": "k"}));
    let (backend, verifier) = mocked(vec![
        Expect::get(at("/apis/batch/v1", "jobs")).reply(plain),
        Expect::delete(at("/api/v1", "services")),
        Expect::delete(at("/apis/batch/v1", "jobs"))
            .body(json!({"propagationPolicy": "Foreground"})),
        Expect::delete(at("/api/v1", "secrets")),
    ]);
    let removed = backend.delete(JOB, false).await.unwrap();
    verified(verifier).await;
    assert_eq!(
        removed,
        [
            format!("Service {JOB}"),
            format!("Job {JOB}"),
            format!("Secret {JOB}")
        ]
    );

    // A namespaced RBAC preset: its RoleBinding and ServiceAccount too (a missing one is fine).
    let mut config = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time");
    config.sa_config = Some(ServiceAccountConfig {
        preset: RbacPreset::Minimal,
        cluster_wide: false,
    });
    let config = serde_json::to_string(&config).unwrap();
    let with_rbac =
        job(json!({"mcp-ephemeral-k8s.io/token-key": "k", "mcp-ephemeral-k8s.io/config": config}));
    let (backend, verifier) = mocked(vec![
        Expect::get(at("/apis/batch/v1", "jobs")).reply(with_rbac),
        Expect::delete(at("/api/v1", "services")),
        Expect::delete(at("/apis/batch/v1", "jobs")),
        Expect::delete(at(RBAC, "rolebindings")).fail(404, "not found"),
        Expect::delete(at("/api/v1", "serviceaccounts")),
        Expect::delete(at("/api/v1", "secrets")),
    ]);
    let removed = backend.delete(JOB, false).await.unwrap();
    verified(verifier).await;
    assert_eq!(removed.len(), 4, "{removed:?}");
}

#[tokio::test]
async fn a_child_whose_job_is_gone_loses_what_may_be_left() {
    // The Job went (its TTL, or someone): its Service and Secret go; an RBAC object the
    // daemon may not delete is passed over.
    let (backend, verifier) = mocked(vec![
        Expect::get(at("/apis/batch/v1", "jobs")).fail(404, "jobs.batch not found"),
        Expect::delete(at("/api/v1", "services")),
        Expect::delete(at(RBAC, "rolebindings")).fail(403, "rolebindings is forbidden"),
        Expect::delete(at("/api/v1", "serviceaccounts")).fail(404, "not found"),
        Expect::delete(at("/api/v1", "secrets")),
    ]);
    let removed = backend.delete(JOB, true).await.unwrap();
    verified(verifier).await;
    assert_eq!(removed, [format!("Service {JOB}"), format!("Secret {JOB}")]);
}

#[tokio::test]
async fn waiting_for_deletion_watches_the_job_go_and_a_failed_watch_keeps_the_deletion() {
    let plain = job(json!({}));
    let deleting = |watch: Expect| {
        vec![
            Expect::get(at("/apis/batch/v1", "jobs")).reply(plain.clone()),
            Expect::delete(at("/api/v1", "services")),
            Expect::delete(at("/apis/batch/v1", "jobs")),
            Expect::get(jobs())
                .query(&format!("fieldSelector=metadata.name={JOB}"))
                .reply(list("JobList", vec![plain.clone()])),
            watch,
        ]
    };
    let gone = Expect::get(jobs())
        .query("watch=true")
        .events(&[("DELETED", plain.clone())]);
    let (backend, verifier) = mocked(deleting(gone));
    let removed = backend.delete(JOB, true).await.unwrap();
    verified(verifier).await;
    assert_eq!(removed, [format!("Service {JOB}"), format!("Job {JOB}")]);

    // A daemon not allowed to watch Jobs still deleted the child, and says it did not wait.
    let forbidden = Expect::get(jobs())
        .query("watch=true")
        .fail(403, "jobs.batch is forbidden: cannot watch");
    let (backend, verifier) = mocked(deleting(forbidden));
    let removed = backend.delete(JOB, true).await.unwrap();
    verified(verifier).await;
    assert!(
        removed[2].contains("deleted but not seen gone"),
        "{removed:?}"
    );
}

#[tokio::test]
async fn a_failed_delete_lists_the_child_again_only_if_it_is_still_there() {
    use crate::{
        manager::{ManagerSettings, SessionManager},
        presets::Presets,
    };
    // A child with a preset whose RoleBinding the daemon may not delete: its Service and Job
    // went first, so it is gone, and the manager must not list it for ever.
    let mut config = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time");
    config.sa_config = Some(ServiceAccountConfig {
        preset: RbacPreset::Minimal,
        cluster_wide: false,
    });
    let annotations =
        json!({"mcp-ephemeral-k8s.io/config": serde_json::to_string(&config).unwrap()});
    let child = job(annotations);
    let (backend, verifier) = mocked(vec![
        Expect::get(jobs()).reply(list("JobList", vec![child.clone()])),
        Expect::get(at("/apis/batch/v1", "jobs")).reply(child),
        Expect::delete(at("/api/v1", "services")),
        Expect::delete(at("/apis/batch/v1", "jobs")),
        Expect::delete(at(RBAC, "rolebindings")).fail(403, "rolebindings is forbidden"),
        Expect::delete(at("/api/v1", "serviceaccounts")),
        Expect::get(at("/apis/batch/v1", "jobs")).fail(404, "jobs.batch not found"),
    ]);
    let manager = SessionManager::new(backend, Presets::embedded(), ManagerSettings::default());
    manager.adopt(false, |_| true).await.unwrap();
    assert_eq!(manager.list_mcp_servers().len(), 1);
    let error = manager.delete_mcp_server(JOB, false).await.unwrap_err();
    verified(verifier).await;
    assert!(
        error.to_string().contains("may not delete rolebindings"),
        "{error}"
    );
    assert!(manager.list_mcp_servers().is_empty());
}
