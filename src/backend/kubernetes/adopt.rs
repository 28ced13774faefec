//! Who a Job belongs to across restarts. Adoption: each Job of this daemon's `--owner`
//! becomes a server (or a warm-pool member) again — configuration, ownership, mount, token
//! — or, with `--gc`, when it finished or cannot be reached, is deleted with an audit line.
//! Hand-out: a pool member's Job gets its owner, as if it had been created for them.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use super::{
    KubernetesBackend, errors,
    labels::{
        self, CONFIG_ANNOTATION, MOUNT_ANNOTATION, OWNER_ANNOTATION, POOL, PRESET_ANNOTATION,
        SELECTION_ANNOTATION, SHARED_ANNOTATION, TOKEN_KEY_ANNOTATION,
    },
};
use crate::{
    access::{Action, Outcome, audit},
    backend::{Adopted, Backend},
    error::Result,
    model::{
        EphemeralMcpServer, EphemeralMcpServerConfig, MountRecord, Ownership, Principal,
        ToolSelection, rfc3339,
    },
};

impl KubernetesBackend {
    /// Deletes child `name` (its `job`) at adoption, with an audit line saying `why`.
    async fn collect(&self, name: &str, job: &Job, why: &str) {
        tracing::info!(job_name = %name, why, "removing a child left by a previous daemon");
        let outcome = match self.delete_made(name, job).await {
            Ok(_) => Outcome::Allowed,
            Err(e) => {
                tracing::warn!(job_name = %name, cause = %e, "could not remove it");
                Outcome::Failed
            }
        };
        audit(&Principal::reaper(), Action::Delete, name, outcome, why);
    }

    /// The children of this daemon's `--owner` found running, to take over; with `gc`,
    /// those finished (or whose token came from another key) are deleted instead, with an
    /// audit line each.
    pub(super) async fn adopt_children(&self, gc: bool) -> Result<Vec<Adopted>> {
        let selector = labels::owner_selector(&self.settings.owner);
        let jobs = self
            .api::<Job>()
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| errors::map(e, self.op("list", "jobs", "")))?
            .items;
        let mut adopted = Vec::new();
        for job in jobs {
            let Some(name) = job.metadata.name.clone() else {
                continue;
            };
            let finished = job
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|conditions| {
                    conditions.iter().any(|c| {
                        (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True"
                    })
                });
            if gc && (finished || job.metadata.deletion_timestamp.is_some()) {
                self.collect(&name, &job, "it had finished when the daemon started")
                    .await;
                continue;
            }
            let config = config_of(&job).unwrap_or_default();
            let annotations = job.metadata.annotations.clone().unwrap_or_default();
            let token = match annotations.get(TOKEN_KEY_ANNOTATION) {
                // An image that serves MCP itself, or a bridge that demands no token.
                None => None,
                Some(id) if id == self.settings.tokens.key_id() => Some(self.token(&name)),
                Some(_) if gc => {
                    let why = "its token was derived from another key, so it cannot be \
                               reached (set --child-key-file to keep children across restarts)";
                    self.collect(&name, &job, why).await;
                    continue;
                }
                Some(_) => {
                    tracing::warn!(job_name = %name, "adopting a child whose token was derived from another key: it cannot be mounted (set --child-key-file to keep children across restarts)");
                    None
                }
            };
            let endpoints = self.endpoints(&name, config.port, token);
            let now = crate::model::unix_now();
            let created = job.metadata.creation_timestamp.as_ref();
            let created_secs =
                created.map_or(now, |t| u64::try_from(t.0.as_second()).unwrap_or(now));
            let created_at = created.map_or_else(|| rfc3339(now), |t| t.0.to_string());
            adopted.push(Adopted {
                server: EphemeralMcpServer {
                    job_name: name,
                    config,
                    url: endpoints.url,
                    sse_url: endpoints.sse_url,
                    authorization: endpoints.authorization,
                    backend: self.kind().to_owned(),
                    namespace: Some(self.namespace.clone()),
                    preset: annotations.get(PRESET_ANNOTATION).cloned(),
                    ownership: Ownership {
                        owner: annotations.get(OWNER_ANNOTATION).cloned(),
                        shared: annotations
                            .get(SHARED_ANNOTATION)
                            .is_some_and(|s| s == "true"),
                    },
                    created_at,
                    mount: None,
                },
                age: Duration::from_secs(now.saturating_sub(created_secs)),
                mount: annotations.get(MOUNT_ANNOTATION).map(|name| MountRecord {
                    name: Some(name.clone()).filter(|m| !m.is_empty()),
                    selection: selection_of(&annotations, &name_of(&job)),
                }),
                pool: job
                    .metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key(POOL)),
            });
        }
        Ok(adopted)
    }
}

impl KubernetesBackend {
    /// Gives pool member `job_name` (started `age` ago) to `ownership`: one merge patch of
    /// its Job ([`hand_out_patch`]).
    pub(super) async fn hand_out_job(
        &self,
        job_name: &str,
        ownership: &Ownership,
        age: Duration,
    ) -> Result<()> {
        let patch = hand_out_patch(ownership, age, self.settings.active_deadline_seconds);
        self.api::<Job>()
            .patch(job_name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(drop)
            .map_err(|e| errors::map(e, self.op("patch", "jobs", job_name)))
    }
}

/// The merge patch handing a pool member out: the pool label goes, its owner's annotations
/// come (as a fresh child of theirs would have them), and its deadline, if the daemon sets
/// one, counts from now rather than from when the pool started it.
pub fn hand_out_patch(ownership: &Ownership, age: Duration, deadline: Option<i64>) -> Value {
    let mut annotations = serde_json::Map::new();
    if let Some(owner) = &ownership.owner {
        annotations.insert(OWNER_ANNOTATION.to_owned(), json!(owner));
    }
    if ownership.shared {
        annotations.insert(SHARED_ANNOTATION.to_owned(), json!("true"));
    }
    let mut patch = json!({ "metadata": { "labels": { POOL: null } } });
    if !annotations.is_empty() {
        patch["metadata"]["annotations"] = Value::Object(annotations);
    }
    if let Some(deadline) = deadline {
        let age = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
        patch["spec"] = json!({ "activeDeadlineSeconds": deadline.saturating_add(age) });
    }
    patch
}

/// The tool selection of a mount recorded in `annotations` (of Job `job`): none when
/// there is none, or when it cannot be read (then every tool is mounted, with a warning).
fn selection_of(
    annotations: &std::collections::BTreeMap<String, String>,
    job: &str,
) -> ToolSelection {
    let Some(text) = annotations.get(SELECTION_ANNOTATION) else {
        return ToolSelection::default();
    };
    serde_json::from_str(text).unwrap_or_else(|e| {
        tracing::warn!(job_name = job, cause = %e, "the recorded tool selection cannot be read; mounting every tool");
        ToolSelection::default()
    })
}

fn name_of(job: &Job) -> String {
    job.metadata.name.clone().unwrap_or_default()
}

/// The configuration a Job was created with, from its annotation.
pub(super) fn config_of(job: &Job) -> Option<EphemeralMcpServerConfig> {
    let annotations = job.metadata.annotations.as_ref()?;
    serde_json::from_str(annotations.get(CONFIG_ANNOTATION)?).ok()
}
