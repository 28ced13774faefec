//! Readiness by watch, status, deletion, adoption and the mount annotation.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Expect, NS, backend, list, pod, verified};
use crate::{
    backend::{Backend, Progress},
    error::Error,
    manager::{ManagerSettings, SessionManager},
    model::{EphemeralMcpServerConfig, MountRecord, Phase},
    presets::Presets,
};

const JOB: &str = "mcp-server-time-1-abcdefgh";
const SELECTOR: &str = "labelSelector=app.kubernetes.io/managed-by=mcp-ephemeral-k8s,app.kubernetes.io/instance=mcp-server-time-1-abcdefgh";

fn pods_path() -> String {
    format!("/api/v1/namespaces/{NS}/pods")
}

fn log_path() -> String {
    format!("/api/v1/namespaces/{NS}/pods/{JOB}-abcde/log")
}

#[tokio::test]
async fn readiness_is_watched_until_the_pod_is_ready() {
    let (backend, verifier) = backend(vec![
        Expect::get(pods_path()).query(SELECTOR).reply(list(
            "PodList",
            vec![pod(JOB, "Pending", false, Some("ContainerCreating"), None)],
        )),
        Expect::get(pods_path())
            .query("watch=true")
            .query("resourceVersion=100")
            .events(&[
                ("MODIFIED", pod(JOB, "Running", false, None, None)),
                ("MODIFIED", pod(JOB, "Running", true, None, None)),
            ]),
    ]);
    let (progress, mut steps) = Progress::channel();
    backend
        .wait_ready(JOB, Duration::from_secs(10), &progress)
        .await
        .unwrap();
    verified(verifier).await;
    // The phases the watch saw, in order (the fixture's pod is scheduled once Running).
    let phases: Vec<String> = progress
        .timings()
        .reached()
        .into_iter()
        .map(|t| t.phase)
        .collect();
    assert_eq!(phases, ["scheduled", "started", "initialized", "ready"]);
    drop(progress);
    let mut seen = Vec::new();
    while let Some(step) = steps.recv().await {
        seen.push(step);
    }
    assert_eq!(
        seen,
        [
            format!("{JOB}-abcde: ContainerCreating"),
            format!("{JOB}-abcde: Running"),
            "ready".into()
        ]
    );
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_fails_at_once() {
    let (backend, verifier) = backend(vec![
        Expect::get(pods_path()).query(SELECTOR).reply(list(
            "PodList",
            vec![pod(JOB, "Pending", false, Some("ImagePullBackOff"), None)],
        )),
        Expect::get(log_path())
            .query("tailLines=40")
            .fail(400, "container is waiting to start"),
    ]);
    let error = backend
        .wait_ready(JOB, Duration::from_secs(600), &Progress::default())
        .await
        .unwrap_err();
    verified(verifier).await;
    let Error::Job { reason, .. } = &error else {
        panic!("{error}")
    };
    assert!(
        reason.contains("ImagePullBackOff: ImagePullBackOff for the image"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_crash_while_starting_fails_with_the_log_tail() {
    let (backend, verifier) = backend(vec![
        Expect::get(pods_path()).query(SELECTOR).reply(list(
            "PodList",
            vec![pod(JOB, "Pending", false, Some("ContainerCreating"), None)],
        )),
        Expect::get(pods_path())
            .query("watch=true")
            .events(&[("MODIFIED", pod(JOB, "Failed", false, None, Some(1)))]),
        Expect::get(log_path()).text("error: package mcp-server-nope not found\n"),
    ]);
    let error = backend
        .wait_ready(JOB, Duration::from_secs(600), &Progress::default())
        .await
        .unwrap_err();
    verified(verifier).await;
    let text = error.to_string();
    assert!(text.contains("the server exited with code 1"), "{text}");
    assert!(
        text.ends_with("error: package mcp-server-nope not found"),
        "{text}"
    );
}

#[tokio::test]
async fn status_summarizes_the_job_and_its_pods() {
    let config =
        serde_json::to_string(&EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time"))
            .unwrap();
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": JOB, "namespace": NS, "annotations": {"mcp-ephemeral-k8s.io/config": config}},
        "status": {"startTime": "2026-11-29T10:00:00Z", "active": 1,
                   "conditions": [{"type": "SuccessCriteriaMet", "status": "False"}]}
    });
    let (backend, verifier) = backend(vec![
        Expect::get(format!("/apis/batch/v1/namespaces/{NS}/jobs/{JOB}")).reply(job),
        Expect::get(pods_path())
            .query(SELECTOR)
            .reply(list("PodList", vec![pod(JOB, "Running", true, None, None)])),
        Expect::get(log_path()).text("Installed 31 packages\nready\n"),
    ]);
    let status = backend.status(JOB).await.unwrap();
    verified(verifier).await;
    assert_eq!(status.phase, Phase::Running);
    assert!(status.ready);
    assert_eq!(status.start_time.as_deref(), Some("2026-11-29T10:00:00Z"));
    assert_eq!(status.pods[0].ip.as_deref(), Some("10.1.2.3"));
    assert_eq!(status.conditions[0].type_, "SuccessCriteriaMet");
    assert_eq!(status.log_tail, ["Installed 31 packages", "ready"]);
    assert_eq!(
        status.url,
        format!("http://{JOB}.{NS}.svc.cluster.local:8080/mcp")
    );
}

/// What adoption deletes of child `job`, found finished or unreachable: what it has.
fn collected(job: &str, token: bool) -> Vec<Expect> {
    let mut expected = vec![
        Expect::delete(format!("/api/v1/namespaces/{NS}/services/{job}")),
        Expect::delete(format!("/apis/batch/v1/namespaces/{NS}/jobs/{job}"))
            .body(json!({"propagationPolicy": "Foreground"})),
    ];
    if token {
        expected.push(Expect::delete(format!(
            "/api/v1/namespaces/{NS}/secrets/{job}"
        )));
    }
    expected
}

#[tokio::test]
async fn a_restarted_daemon_adopts_running_children_and_removes_finished_ones() {
    let config =
        serde_json::to_string(&EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time"))
            .unwrap();
    let running = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "other-2-zzzzzzzz", "namespace": NS, "creationTimestamp": "2026-11-29T09:00:00Z",
                     "annotations": {"mcp-ephemeral-k8s.io/config": config, "mcp-ephemeral-k8s.io/mount": "time",
                                     "mcp-ephemeral-k8s.io/mount-selection": r#"{"tools":["get_*"],"rename":{"get_current_time":"now"}}"#,
                                     "mcp-ephemeral-k8s.io/preset": "time",
                                     "mcp-ephemeral-k8s.io/token-key": super::settings().tokens.key_id()}},
        "status": {"active": 1}
    });
    let finished = json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": JOB, "namespace": NS},
        "status": {"conditions": [{"type": "Failed", "status": "True"}]}
    });
    // A child whose token came from another key (a daemon without --child-key-file) cannot
    // be reached: it goes too.
    let stale = "stale-3-yyyyyyyy";
    let foreign_key = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": stale, "namespace": NS,
                     "annotations": {"mcp-ephemeral-k8s.io/token-key": "0123456789abcdef"}},
        "status": {"active": 1}
    });
    let mut expected = vec![Expect::get(format!("/apis/batch/v1/namespaces/{NS}/jobs"))
        .query("labelSelector=app.kubernetes.io/managed-by=mcp-ephemeral-k8s,mcp-ephemeral-k8s.io/owner=mcp-ephemeral-k8s")
        .reply(list("JobList", vec![running, finished, foreign_key]))];
    expected.extend(collected(JOB, false));
    expected.extend(collected(stale, true));
    let (backend, verifier) = backend(expected);
    // Each child removed is audited, as every delete is.
    let audit = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let sink = audit.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || AuditSink(sink.clone()))
        .with_ansi(false)
        .finish();
    // With one dispatcher alive, tracing asks the registering thread's default whether a
    // callsite is wanted: another test's thread hitting the audit line first (it has no
    // subscriber) would switch it off for this one. A second dispatcher makes it ask all.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let _guard = tracing::subscriber::set_default(subscriber);
    let adopted = backend.adopt(true).await.unwrap();
    let audit = String::from_utf8(audit.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = audit.lines().filter(|l| l.contains("audit")).collect();
    assert_eq!(lines.len(), 2, "{audit}");
    assert!(
        lines[0].contains(JOB) && lines[0].contains("it had finished"),
        "{audit}"
    );
    assert!(
        lines[1].contains(stale) && lines[1].contains("another key"),
        "{audit}"
    );
    verified(verifier).await;
    assert_eq!(adopted.len(), 1);
    let child = &adopted[0];
    assert_eq!(child.server.job_name, "other-2-zzzzzzzz");
    let token = super::settings().tokens.token(NS, "other-2-zzzzzzzz");
    assert_eq!(child.server.authorization, Some(format!("Bearer {token}")));
    assert_eq!(
        child.server.config.runtime_mcp.as_deref(),
        Some("mcp-server-time")
    );
    assert_eq!(child.server.preset.as_deref(), Some("time"));
    assert_eq!(child.server.created_at, "2026-11-29T09:00:00Z");
    let mount = child.mount.as_ref().unwrap();
    assert_eq!(mount.name.as_deref(), Some("time"));
    assert_eq!(mount.selection.tools, ["get_*"]);
    assert_eq!(mount.selection.rename["get_current_time"], "now");
}

#[tokio::test]
async fn a_restarted_daemon_removes_children_whose_owner_can_no_longer_connect() {
    let running = |name: &str, owner: &str| {
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": NS,
                         "annotations": {"mcp-ephemeral-k8s.io/created-by": owner}},
            "status": {"active": 1}
        })
    };
    let mut expected = vec![
        Expect::get(format!("/apis/batch/v1/namespaces/{NS}/jobs")).reply(list(
            "JobList",
            vec![running("alice-1-aaaaaaaa", "alice"), running(JOB, "bob")],
        )),
    ];
    // The manager deletes bob's child as any delete: by what its Job says it has.
    expected.push(
        Expect::get(format!("/apis/batch/v1/namespaces/{NS}/jobs/{JOB}"))
            .reply(running(JOB, "bob")),
    );
    expected.extend(collected(JOB, false));
    let (backend, verifier) = backend(expected);
    let manager = SessionManager::new(backend, Presets::embedded(), ManagerSettings::default());
    let kept = manager.adopt(true, |owner| owner == "alice").await.unwrap();
    verified(verifier).await;
    assert_eq!(kept, [("alice-1-aaaaaaaa".to_owned(), None)]);
    let listed: Vec<String> = manager
        .list_mcp_servers()
        .into_iter()
        .map(|s| s.job_name)
        .collect();
    assert_eq!(listed, ["alice-1-aaaaaaaa"]);
}

#[tokio::test]
async fn mounts_are_recorded_on_the_job_for_the_next_daemon() {
    let path = format!("/apis/batch/v1/namespaces/{NS}/jobs/{JOB}");
    let recorded = |name: Value, selection: Value| {
        Expect::patch(path.clone()).body(json!({"metadata": {"annotations": {
            "mcp-ephemeral-k8s.io/mount": name, "mcp-ephemeral-k8s.io/mount-selection": selection}}}))
    };
    let (backend, verifier) = backend(vec![
        recorded(
            json!("time"),
            json!(r#"{"exclude":["convert_*"],"rename":{"get_current_time":"now"}}"#),
        ),
        // An unnamed mount of every tool: no selection (a previous one is removed).
        recorded(json!(""), Value::Null),
        recorded(Value::Null, Value::Null),
    ]);
    let mut selected = MountRecord {
        name: Some("time".into()),
        ..MountRecord::default()
    };
    selected.selection.exclude = vec!["convert_*".into()];
    selected.selection.rename = [("get_current_time".into(), "now".into())].into();
    backend.record_mount(JOB, Some(&selected)).await.unwrap();
    backend
        .record_mount(JOB, Some(&MountRecord::default()))
        .await
        .unwrap();
    backend.record_mount(JOB, None).await.unwrap();
    verified(verifier).await;
}

#[tokio::test]
async fn a_job_that_cannot_make_its_pod_fails_at_once_naming_the_quota() {
    let event = json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{JOB}.1"), "namespace": NS},
        "involvedObject": {"kind": "Job", "name": JOB, "namespace": NS},
        "reason": "FailedCreate", "type": "Warning",
        "message": "Error creating: pods \"x\" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=4, limited: pods=4"});
    let (backend, verifier) = backend(vec![
        Expect::get(pods_path())
            .query(SELECTOR)
            .reply(list("PodList", vec![])),
        Expect::get(format!("/api/v1/namespaces/{NS}/events"))
            .query(&format!(
                "fieldSelector=involvedObject.kind=Job,involvedObject.name={JOB}"
            ))
            .reply(list("EventList", vec![event])),
    ]);
    let started = std::time::Instant::now();
    let error = backend
        .wait_ready(JOB, Duration::from_secs(60), &Progress::default())
        .await
        .unwrap_err();
    verified(verifier).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not at the timeout"
    );
    assert!(
        matches!(&error, Error::LimitReached(text) if text.contains("exceeded quota: compute")),
        "{error}"
    );
}

/// A tracing writer into a shared buffer.
struct AuditSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for AuditSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
