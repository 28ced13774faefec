//! A child's [`ServerStatus`] from its Job and pods.

use k8s_openapi::api::{batch::v1::Job, core::v1::Pod};

use super::pods::{PodState, pod_state};
use crate::model::{Condition, Phase, PodStatus, ServerStatus};

/// The status of child `job_name` from its Job, its pods (any order) and the log tail of
/// the newest pod.
pub fn summarize(
    job_name: &str,
    url: &str,
    job: &Job,
    pods: &[Pod],
    log_tail: Vec<String>,
) -> ServerStatus {
    let job_status = job.status.as_ref();
    let conditions: Vec<Condition> = job_status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .map(|c| Condition {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
        })
        .collect();
    let job_failed = conditions
        .iter()
        .find(|c| c.type_ == "Failed" && c.status == "True");
    let job_complete = conditions
        .iter()
        .any(|c| c.type_ == "Complete" && c.status == "True");
    let newest = newest(pods);
    let state = newest.map(pod_state);
    let ready = matches!(state, Some(PodState::Ready));
    let phase = if job_failed.is_some() {
        Phase::Failed
    } else if job_complete {
        Phase::Succeeded
    } else if job.metadata.deletion_timestamp.is_some() {
        Phase::Terminating
    } else {
        match newest
            .and_then(|p| p.status.as_ref())
            .and_then(|s| s.phase.as_deref())
        {
            Some("Running") => Phase::Running,
            Some("Succeeded") => Phase::Succeeded,
            Some("Failed") => Phase::Failed,
            Some("Unknown") => Phase::Unknown,
            _ => Phase::Pending,
        }
    };
    let last_error = match (&state, job_failed) {
        (Some(PodState::Failed(reason)), _) => Some(reason.clone()),
        (_, Some(failed)) => Some(format!(
            "the Job failed: {}",
            failed
                .message
                .clone()
                .or(failed.reason.clone())
                .unwrap_or_default()
        )),
        _ => None,
    };
    ServerStatus {
        timings: Vec::new(),
        job_name: job_name.to_owned(),
        backend: "kubernetes".to_owned(),
        phase,
        ready,
        start_time: job_status
            .and_then(|s| s.start_time.as_ref())
            .map(|t| t.0.to_string()),
        url: url.to_owned(),
        authorization: None,
        pods: pods.iter().map(pod_summary).collect(),
        conditions,
        process: None,
        last_error,
        log_tail,
        mount: None,
    }
}

/// The most recently created pod.
pub fn newest(pods: &[Pod]) -> Option<&Pod> {
    pods.iter()
        .max_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

fn pod_summary(pod: &Pod) -> PodStatus {
    let status = pod.status.as_ref();
    let containers = status.and_then(|s| s.container_statuses.as_ref());
    let reason = containers
        .into_iter()
        .flatten()
        .find_map(|c| {
            let state = c.state.as_ref()?;
            state
                .waiting
                .as_ref()
                .and_then(|w| w.reason.clone())
                .or_else(|| state.terminated.as_ref().and_then(|t| t.reason.clone()))
        })
        .or_else(|| status.and_then(|s| s.reason.clone()));
    PodStatus {
        name: pod.metadata.name.clone().unwrap_or_default(),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Pending".into()),
        ip: status.and_then(|s| s.pod_ip.clone()),
        ready: matches!(pod_state(pod), PodState::Ready),
        restarts: containers
            .into_iter()
            .flatten()
            .map(|c| c.restart_count)
            .sum(),
        reason,
    }
}
