//! Warm pools on Kubernetes: the hand-out patch, adoption of pool members after a restart,
//! and a pool's life (fill, hand out, refill, replace a dead member, drain) against an API
//! server that answers by request, since members get names of their own.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};

use super::{Expect, NS, backend, backend_with, list, pod, settings, verified};
use crate::{
    backend::{Backend, kubernetes::KubernetesBackend},
    manager::{CreateOptions, ManagerSettings, SessionManager},
    model::{Ownership, Principal},
    presets::Presets,
};

const POOL_LABEL: &str = "mcp-ephemeral-k8s.io/pool";

fn jobs_path() -> String {
    format!("/apis/batch/v1/namespaces/{NS}/jobs")
}

#[tokio::test]
async fn handing_out_patches_the_owner_onto_the_job_and_restarts_its_deadline() {
    let job = "mcp-server-time-1-abcdefgh";
    let path = format!("{}/{job}", jobs_path());
    let with_deadline = crate::backend::kubernetes::JobSettings {
        active_deadline_seconds: Some(3_600),
        ..settings()
    };
    let (backend, verifier, _) = backend_with(
        vec![
            Expect::patch(path.clone()).body(json!({"metadata": {
                "labels": {POOL_LABEL: null},
                "annotations": {"mcp-ephemeral-k8s.io/created-by": "alice", "mcp-ephemeral-k8s.io/shared": "true"}},
                "spec": {"activeDeadlineSeconds": 3_600 + 90}})),
            // An anonymous caller (no authentication): only the label goes.
            Expect::patch(path).body(json!({"metadata": {"labels": {POOL_LABEL: null}}, "spec": {"activeDeadlineSeconds": 3_600}})),
        ],
        with_deadline,
    );
    let alice = Ownership::of(&Principal::new("alice"), true);
    let age = Duration::from_secs(90);
    backend.hand_out(job, &alice, age).await.unwrap();
    let nobody = Ownership::default();
    backend
        .hand_out(job, &nobody, Duration::ZERO)
        .await
        .unwrap();
    verified(verifier).await;
}

/// The Job of a member of `preset`'s pool, as a previous daemon left it.
fn member(name: &str, preset: &str) -> Value {
    let config = Presets::embedded().get(preset).unwrap().config.redacted();
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": NS, "creationTimestamp": "2026-12-08T09:00:00Z",
                     "labels": {"app.kubernetes.io/managed-by": "mcp-ephemeral-k8s", POOL_LABEL: preset},
                     "annotations": {"mcp-ephemeral-k8s.io/config": serde_json::to_string(&config).unwrap(),
                                     "mcp-ephemeral-k8s.io/preset": preset,
                                     "mcp-ephemeral-k8s.io/token-key": settings().tokens.key_id()}},
        "status": {"active": 1}
    })
}

/// What deleting child `job` (with a token Secret, found by its Job) asks of the API.
fn deleted(job: &Value) -> Vec<Expect> {
    let name = job["metadata"]["name"].as_str().unwrap();
    vec![
        Expect::get(format!("{}/{name}", jobs_path())).reply(job.clone()),
        Expect::delete(format!("/api/v1/namespaces/{NS}/services/{name}")),
        Expect::delete(format!("{}/{name}", jobs_path()))
            .body(json!({"propagationPolicy": "Foreground"})),
        Expect::delete(format!("/api/v1/namespaces/{NS}/secrets/{name}")),
    ]
}

fn with_pool(preset: &str, members: usize) -> ManagerSettings {
    ManagerSettings {
        pools: vec![(preset.to_owned(), members)],
        ..ManagerSettings::default()
    }
}

#[tokio::test]
async fn a_restarted_daemon_puts_pool_members_back_in_their_pool() {
    let kept = member("mcp-server-time-1-aaaaaaaa", "time");
    // One more than the pool wants, and one of a preset without a pool now: deleted.
    let extra = member("mcp-server-time-2-bbbbbbbb", "time");
    let unwanted = member("mcp-server-fetch-3-cccccccc", "fetch");
    let mut expected = vec![
        Expect::get(jobs_path())
            .reply(list("JobList", vec![kept, extra.clone(), unwanted.clone()])),
    ];
    expected.extend(deleted(&extra));
    expected.extend(deleted(&unwanted));
    let (backend, verifier) = backend(expected);
    let manager = SessionManager::new(backend, Presets::embedded(), with_pool("time", 1));
    let adopted = manager.adopt(true, |_| true).await.unwrap();
    verified(verifier).await;
    assert!(adopted.is_empty(), "pool members are nobody's children");
    assert!(manager.list_mcp_servers().is_empty(), "and not listed");
    assert_eq!(manager.pool_size("time"), Some((1, 1)));
}

/// One request the scripted API server saw: method, path and body (`Null` without one).
type Seen = Arc<Mutex<Vec<(Method, String, Value)>>>;

/// An API server that makes what is posted, says every pod is ready but those of children
/// named in `dead`, refuses every patch when `refuse_patch`, and records each request.
fn scripted(dead: Arc<Mutex<HashSet<String>>>, refuse_patch: bool) -> (KubernetesBackend, Seen) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let seen = Seen::default();
    let record = seen.clone();
    tokio::spawn(async move {
        let mut handle = std::pin::pin!(handle);
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let path = parts.uri.path().to_owned();
            let query = super::urlencoding_decode(parts.uri.query().unwrap_or_default());
            record
                .lock()
                .unwrap()
                .push((parts.method.clone(), path.clone(), body.clone()));
            let status = if refuse_patch && parts.method == Method::PATCH {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            };
            let reply = match (&parts.method, path.rsplit('/').next().unwrap_or_default()) {
                (&Method::POST, _) => body.to_string(),
                (&Method::GET, "pods") => {
                    let job = query.rsplit("app.kubernetes.io/instance=").next().unwrap();
                    let job = job.split('&').next().unwrap();
                    let pod = if dead.lock().unwrap().contains(job) {
                        pod(job, "Failed", false, None, Some(1))
                    } else {
                        pod(job, "Running", true, None, None)
                    };
                    list("PodList", vec![pod]).to_string()
                }
                (&Method::GET, "log") => String::new(),
                (&Method::GET, name) if path.contains("/jobs/") => json!({
                    "apiVersion": "batch/v1", "kind": "Job",
                    "metadata": {"name": name, "namespace": NS, "annotations": {
                        "mcp-ephemeral-k8s.io/token-key": settings().tokens.key_id()}},
                    "status": {"active": 1}})
                .to_string(),
                _ => "{}".to_owned(),
            };
            let response = Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(reply.into_bytes()))
                .unwrap();
            send.send_response(response);
        }
    });
    let client = kube::Client::new(service, NS);
    let backend = KubernetesBackend::new(client, NS, settings(), super::super::Access::ServiceDns);
    (backend, seen)
}

/// A manager with a pool of one `time` member filling on [`scripted`]; the preset's
/// configuration.
fn pool_of_one(
    dead: Arc<Mutex<HashSet<String>>>,
    refuse_patch: bool,
) -> (
    Arc<SessionManager>,
    Seen,
    crate::model::EphemeralMcpServerConfig,
) {
    let (backend, seen) = scripted(dead, refuse_patch);
    let presets = Presets::embedded();
    let time = presets.get("time").unwrap().config.clone();
    let manager = Arc::new(SessionManager::new(backend, presets, with_pool("time", 1)));
    manager.spawn_pools();
    (manager, seen, time)
}

/// The names of the Jobs posted so far, in order.
fn jobs_posted(seen: &Seen) -> Vec<String> {
    let seen = seen.lock().unwrap();
    let posts = seen
        .iter()
        .filter(|(m, p, _)| m == Method::POST && p.ends_with("/jobs"));
    posts
        .map(|(_, _, job)| job["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits (up to 10 s) until `done` holds.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what} never came");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_pool_fills_hands_out_with_one_patch_refills_and_replaces_a_dead_member() {
    let dead = Arc::new(Mutex::new(HashSet::new()));
    let (manager, seen, time) = pool_of_one(dead.clone(), false);

    // Fill: one member, its Job labelled with the pool and owned by nobody yet.
    until("the pool's first member", || {
        manager.pool_size("time") == Some((1, 1))
    })
    .await;
    let first = jobs_posted(&seen)[0].clone();
    let posted = seen.lock().unwrap().clone();
    let (_, _, job) = posted
        .iter()
        .find(|(_, p, _)| p.ends_with("/jobs"))
        .unwrap();
    assert_eq!(job["metadata"]["labels"][POOL_LABEL], "time");
    assert_eq!(
        job["metadata"]["annotations"]["mcp-ephemeral-k8s.io/preset"],
        "time"
    );
    assert!(job["metadata"]["annotations"]["mcp-ephemeral-k8s.io/created-by"].is_null());
    // Exactly the Job a pool member of `time` is (pool-job.yaml's, under its own name).
    let member = crate::backend::ChildMeta {
        preset: Some("time".into()),
        ownership: Ownership::default(),
        ready_timeout: Some(ManagerSettings::default().ready_timeout),
        pool: true,
    };
    let expected = super::objects::build(&first, NS, &time, &member, &settings()).unwrap();
    assert_eq!(*job, serde_json::to_value(&expected.job).unwrap());

    // Hand-out: the member, owned by alice from one exact patch of its Job.
    let options = CreateOptions {
        preset: Some("time".into()),
        ownership: Ownership::of(&Principal::new("alice"), false),
        ..CreateOptions::default()
    };
    let server = manager.create(time, options).await.unwrap();
    assert_eq!(server.job_name, first);
    assert_eq!(server.ownership.owner.as_deref(), Some("alice"));
    let patches: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(m, ..)| m == Method::PATCH)
        .cloned()
        .collect();
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0].1, format!("{}/{first}", jobs_path()));
    assert_eq!(
        patches[0].2,
        json!({"metadata": {"labels": {POOL_LABEL: null},
               "annotations": {"mcp-ephemeral-k8s.io/created-by": "alice"}}})
    );
    let listed: Vec<String> = manager
        .list_mcp_servers()
        .into_iter()
        .map(|s| s.job_name)
        .collect();
    assert_eq!(listed, std::slice::from_ref(&first));

    // Refill: a second member, under another name.
    until("the refill", || manager.pool_size("time") == Some((1, 1))).await;
    let second = jobs_posted(&seen)[1].clone();
    assert_ne!(second, first);

    // A member whose pod failed is deleted and replaced.
    dead.lock().unwrap().insert(second.clone());
    until("the replacement", || jobs_posted(&seen).len() == 3).await;
    let deleted = |name: &str| {
        let seen = seen.lock().unwrap();
        seen.iter()
            .any(|(m, p, _)| m == Method::DELETE && *p == format!("{}/{name}", jobs_path()))
    };
    assert!(deleted(&second));
    until("the replacement ready", || {
        manager.pool_size("time") == Some((1, 1))
    })
    .await;
    // Members are checked with a pod list each: no Job, no logs, every 2 s.
    let reads_logs = seen
        .lock()
        .unwrap()
        .iter()
        .any(|(_, p, _)| p.ends_with("/log"));
    assert!(!reads_logs, "a liveness check read a member's logs");

    // Closing deletes the member and the handed-out child.
    let third = jobs_posted(&seen)[2].clone();
    manager.close().await;
    assert!(deleted(&third) && deleted(&first));
    assert!(!deleted("never"), "the check is not vacuous");
}

#[tokio::test]
async fn a_member_that_cannot_be_handed_out_is_deleted_and_the_create_served_fresh() {
    let (manager, seen, time) = pool_of_one(Arc::default(), true);
    until("the pool's member", || {
        manager.pool_size("time") == Some((1, 1))
    })
    .await;
    let member = jobs_posted(&seen)[0].clone();
    let options = CreateOptions {
        preset: Some("time".into()),
        ..CreateOptions::default()
    };
    let server = manager.create(time, options).await.unwrap();
    assert_ne!(server.job_name, member, "not the member whose patch failed");
    let posted = jobs_posted(&seen);
    assert!(posted[1..].contains(&server.job_name), "{posted:?}");
    let member_path = format!("{}/{member}", jobs_path());
    until("the member deleted", || {
        let seen = seen.lock().unwrap();
        seen.iter()
            .any(|(m, p, _)| m == Method::DELETE && *p == member_path)
    })
    .await;
    let listed: Vec<String> = manager
        .list_mcp_servers()
        .into_iter()
        .map(|s| s.job_name)
        .collect();
    assert_eq!(listed, std::slice::from_ref(&server.job_name));
    manager.close().await;
}
