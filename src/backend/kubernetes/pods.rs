//! Reading a child's pods: whether one is ready, failed or still coming up, its log tail,
//! and waiting for readiness by watching (list, then watch from that version), not polling.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::{
    Api,
    api::{ListParams, LogParams, WatchEvent, WatchParams},
};

use super::{
    errors::{self, Op},
    labels::instance_selector,
    objects::CONTAINER,
};
use crate::{
    backend::{Progress, local::LOG_TAIL_LINES},
    error::{Error, Result},
};

/// Container waiting reasons that will not fix themselves: fail at once instead of waiting
/// for the timeout.
const FATAL_WAITING: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Longest a single watch request stays open before it is renewed.
const WATCH_SECONDS: u32 = 290;

/// While a child has no pod, how often its Job's events are read for a failure to make one.
const NO_POD_SECONDS: u32 = 2;

/// Fails when the Job of child `job_name` could not make its pod (`FailedCreate`): a
/// ResourceQuota it exceeds is a limit, anything else a failed child.
async fn failed_creation(events: &Api<Event>, namespace: &str, job_name: &str) -> Result<()> {
    let fields = format!("involvedObject.kind=Job,involvedObject.name={job_name}");
    let list = events
        .list(&ListParams::default().fields(&fields))
        .await
        .map_err(|e| {
            let op = Op {
                verb: "list",
                resource: "events",
                namespace,
                name: job_name,
            };
            errors::map(e, op)
        })?;
    let Some(failure) = list
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("FailedCreate"))
    else {
        return Ok(());
    };
    let message = failure.message.clone().unwrap_or_default();
    if message.contains("exceeded quota") {
        return Err(Error::LimitReached(format!(
            "the ResourceQuota of namespace {namespace} does not allow the pod of {job_name}: \
             {message}; delete a server or raise the quota"
        )));
    }
    Err(Error::Job {
        job_name: job_name.to_owned(),
        reason: format!("its Job cannot make its pod: {message}"),
        log_tail: Vec::new(),
    })
}

/// What a pod says about its child's readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodState {
    /// Serving: the Ready condition is true.
    Ready,
    /// Failed, or stuck in a way that will not resolve; the reason says how.
    Failed(String),
    /// Still starting; the text says at what step.
    Starting(String),
}

/// Reads one pod.
pub fn pod_state(pod: &Pod) -> PodState {
    let name = pod.metadata.name.as_deref().unwrap_or("the pod");
    let Some(status) = &pod.status else {
        return PodState::Starting(format!("{name} is pending"));
    };
    let conditions = status.conditions.as_deref().unwrap_or_default();
    if conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True")
    {
        return PodState::Ready;
    }
    for container in status.container_statuses.iter().flatten() {
        let state = container.state.as_ref();
        if let Some(waiting) = state.and_then(|s| s.waiting.as_ref()) {
            let reason = waiting.reason.as_deref().unwrap_or_default();
            if FATAL_WAITING.contains(&reason) {
                let message = waiting.message.as_deref().unwrap_or_default();
                return PodState::Failed(format!("{name}: {reason}: {message}"));
            }
        }
        if let Some(terminated) = state.and_then(|s| s.terminated.as_ref()) {
            let reason = terminated.reason.as_deref().unwrap_or("Terminated");
            return PodState::Failed(format!(
                "{name}: the server exited with code {} ({reason})",
                terminated.exit_code
            ));
        }
    }
    if status.phase.as_deref() == Some("Failed") {
        let reason = status
            .reason
            .as_deref()
            .or(status.message.as_deref())
            .unwrap_or("Failed");
        return PodState::Failed(format!("{name} failed: {reason}"));
    }
    if let Some(unschedulable) = conditions.iter().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
    }) {
        let message = unschedulable.message.as_deref().unwrap_or_default();
        return PodState::Failed(format!("{name} cannot be scheduled: {message}"));
    }
    let step = status
        .container_statuses
        .iter()
        .flatten()
        .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
        .or_else(|| status.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    PodState::Starting(format!("{name}: {step}"))
}

/// Records the phases `pod` shows it reached: `scheduled` (it has a node), `started` (its
/// container runs), `initialized` (its startup probe passed: the bridge's `/health` says
/// its MCP server answered `initialize`).
fn record_phases(pod: &Pod, progress: &Progress) {
    let Some(status) = &pod.status else {
        return;
    };
    let conditions = status.conditions.as_deref().unwrap_or_default();
    if conditions
        .iter()
        .any(|c| c.type_ == "PodScheduled" && c.status == "True")
    {
        progress.timings().reach("scheduled");
    }
    let containers = status.container_statuses.iter().flatten();
    if containers
        .clone()
        .filter_map(|c| c.state.as_ref())
        .any(|s| s.running.is_some())
    {
        progress.timings().reach("started");
    }
    if containers.clone().any(|c| c.started == Some(true)) {
        progress.timings().reach("initialized");
    }
}

/// The last lines of a pod's log (empty when there is none yet).
pub async fn log_tail(pods: &Api<Pod>, pod: &str) -> Vec<String> {
    let params = LogParams {
        container: Some(CONTAINER.to_owned()),
        tail_lines: Some(LOG_TAIL_LINES as i64),
        ..LogParams::default()
    };
    match pods.logs(pod, &params).await {
        Ok(text) => text.lines().map(str::to_owned).collect(),
        Err(_) => Vec::new(),
    }
}

/// Waits until a pod of child `job_name` is ready; fails as soon as one fails. The pod
/// that decided and whether it is ready (`Ok`) or why it failed (`Err`) come from the
/// watch.
///
/// # Errors
/// [`Error::Job`] with the reason and log tail, [`Error::JobTimeout`], or an API error.
pub async fn wait_ready(
    pods: &Api<Pod>,
    events: &Api<Event>,
    namespace: &str,
    job_name: &str,
    timeout: Duration,
    progress: &Progress,
) -> Result<()> {
    let mut last_pod = None;
    let watching = watch_until_decided(pods, events, namespace, job_name, progress, &mut last_pod);
    let outcome = tokio::time::timeout(timeout, watching).await;
    let tail = |pod: Option<String>| async move {
        match pod {
            Some(pod) => log_tail(pods, &pod).await,
            None => Vec::new(),
        }
    };
    match outcome {
        Ok(Ok((_, Ok(())))) => {
            progress.phase("ready", "ready");
            Ok(())
        }
        Ok(Ok((pod, Err(reason)))) => Err(Error::Job {
            job_name: job_name.to_owned(),
            reason,
            log_tail: tail(Some(pod)).await,
        }),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(Error::JobTimeout {
            job_name: job_name.to_owned(),
            timeout,
            log_tail: tail(last_pod).await,
        }),
    }
}

async fn watch_until_decided(
    pods: &Api<Pod>,
    events: &Api<Event>,
    namespace: &str,
    job_name: &str,
    progress: &Progress,
    last_pod: &mut Option<String>,
) -> Result<(String, std::result::Result<(), String>)> {
    let selector = instance_selector(job_name);
    let op = Op {
        verb: "watch",
        resource: "pods",
        namespace,
        name: job_name,
    };
    let mut last_step = String::new();
    let mut consider = |pod: &Pod| {
        let name = pod.metadata.name.clone().unwrap_or_default();
        *last_pod = Some(name.clone());
        record_phases(pod, progress);
        match pod_state(pod) {
            PodState::Starting(step) => {
                if step != last_step {
                    progress.report(step.clone());
                    last_step = step;
                }
                None
            }
            PodState::Ready => Some((name, Ok(()))),
            PodState::Failed(reason) => Some((name, Err(reason))),
        }
    };
    loop {
        let list = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| errors::map(e, Op { verb: "list", ..op }))?;
        if let Some(decided) = list.items.iter().find_map(&mut consider) {
            return Ok(decided);
        }
        // No pod yet: the Job may be unable to make one (a ResourceQuota, a policy), which
        // only its events say; look again every NO_POD_SECONDS.
        let no_pod = list.items.is_empty();
        if no_pod {
            failed_creation(events, namespace, job_name).await?;
        }
        let version = list.metadata.resource_version.unwrap_or_else(|| "0".into());
        let params = WatchParams::default().labels(&selector).timeout(if no_pod {
            NO_POD_SECONDS
        } else {
            WATCH_SECONDS
        });
        let mut events = pods
            .watch(&params, &version)
            .await
            .map_err(|e| errors::map(e, op))?
            .boxed();
        while let Some(event) = events.next().await {
            match event {
                Ok(WatchEvent::Added(pod) | WatchEvent::Modified(pod)) => {
                    if let Some(decided) = consider(&pod) {
                        return Ok(decided);
                    }
                }
                Ok(WatchEvent::Deleted(_) | WatchEvent::Bookmark(_)) => {}
                // An expired version or a broken stream: list again.
                Ok(WatchEvent::Error(_)) | Err(_) => break,
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
