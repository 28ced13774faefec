//! Creating and deleting a child's objects, in order, with rollback.

use k8s_openapi::api::{
    batch::v1::Job,
    core::v1::{Secret, Service, ServiceAccount},
    rbac::v1::{ClusterRole, ClusterRoleBinding, RoleBinding},
};
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};

use super::{
    KubernetesBackend, RbacPresets,
    errors::{self, is_not_found},
    labels::TOKEN_KEY_ANNOTATION,
    objects::ChildObjects,
    rbac::Binding,
};
use crate::error::{Error, Result};

impl KubernetesBackend {
    /// Creates the objects in order, returning what was made so far on failure.
    pub(super) async fn create_objects(
        &self,
        name: &str,
        objects: &ChildObjects,
        made: &mut Vec<Made>,
    ) -> Result<()> {
        let post = PostParams::default();
        if let Some(rbac) = &objects.rbac {
            self.check_preset_role(&rbac.cluster_role).await?;
        }
        if let Some(secret) = &objects.secret {
            // First: the pod cannot start without the token it reads from it.
            self.api::<Secret>()
                .create(&post, secret)
                .await
                .map_err(|e| errors::map(e, self.op("create", "secrets", name)))?;
            made.push(Made::Secret);
        }
        if let Some(rbac) = &objects.rbac {
            self.api::<ServiceAccount>()
                .create(&post, &rbac.service_account)
                .await
                .map_err(|e| errors::map(e, self.op("create", "serviceaccounts", name)))?;
            made.push(Made::ServiceAccount);
            match &rbac.binding {
                Binding::Namespaced(binding) => {
                    self.api::<RoleBinding>()
                        .create(&post, binding)
                        .await
                        .map_err(|e| errors::map(e, self.op("create", "rolebindings", name)))?;
                    made.push(Made::RoleBinding);
                }
                Binding::ClusterWide(binding) => {
                    Api::<ClusterRoleBinding>::all(self.client.clone())
                        .create(&post, binding)
                        .await
                        .map_err(|e| {
                            errors::map(e, self.op("create", "clusterrolebindings", name))
                        })?;
                    made.push(Made::ClusterRoleBinding);
                }
            }
        }
        self.api::<Job>()
            .create(&post, &objects.job)
            .await
            .map_err(|e| errors::map(e, self.op("create", "jobs", name)))?;
        made.push(Made::Job);
        self.api::<Service>()
            .create(&post, &objects.service)
            .await
            .map_err(|e| errors::map(e, self.op("create", "services", name)))?;
        made.push(Made::Service);
        Ok(())
    }

    /// Refuses an RBAC preset whose ClusterRole is not installed: the child would run
    /// without the permissions it asked for.
    async fn check_preset_role(&self, cluster_role: &str) -> Result<()> {
        let roles = Api::<ClusterRole>::all(self.client.clone());
        match roles.get_opt(cluster_role).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(Error::ServerCreation(format!(
                "the RBAC preset's ClusterRole {cluster_role} is not installed; install the presets \
                 (kubectl apply -k deploy/overlays/rbac-presets) or create the server without sa_config"
            ))),
            Err(e) => Err(errors::map(e, self.op("get", "clusterroles", cluster_role))),
        }
    }

    /// Deletes `made` (newest first); a missing object is fine. Returns a line per object
    /// removed, and the first failure.
    pub(super) async fn delete_objects(
        &self,
        name: &str,
        made: &[Made],
    ) -> (Vec<String>, Option<Error>) {
        let mut removed = Vec::new();
        let mut failure = None;
        for object in made.iter().rev() {
            let result = match object {
                Made::Service => self
                    .api::<Service>()
                    .delete(name, &DeleteParams::default())
                    .await
                    .map(drop),
                Made::Job => self
                    .api::<Job>()
                    .delete(name, &DeleteParams::foreground())
                    .await
                    .map(drop),
                Made::RoleBinding => self
                    .api::<RoleBinding>()
                    .delete(name, &DeleteParams::default())
                    .await
                    .map(drop),
                Made::ClusterRoleBinding => Api::<ClusterRoleBinding>::all(self.client.clone())
                    .delete(name, &DeleteParams::default())
                    .await
                    .map(drop),
                Made::ServiceAccount => self
                    .api::<ServiceAccount>()
                    .delete(name, &DeleteParams::default())
                    .await
                    .map(drop),
                Made::Secret => self
                    .api::<Secret>()
                    .delete(name, &DeleteParams::default())
                    .await
                    .map(drop),
            };
            match result {
                Ok(()) => removed.push(format!("{} {name}", object.kind())),
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    tracing::warn!(job_name = name, kind = object.kind(), cause = %e, "delete failed");
                    failure
                        .get_or_insert(errors::map(e, self.op("delete", object.resource(), name)));
                }
            }
        }
        (removed, failure)
    }

    /// Deletes child `job_name`: what it has, by its Job (its token Secret, its RBAC objects
    /// only if it asked for a preset), or — its Job gone — its Service and Secret and what
    /// RBAC objects it may have had (one that is missing or not the daemon's to delete is
    /// passed over). With `wait`, then waits for the Job to go; a failure to wait is a line
    /// of the result, since the deletion stands.
    ///
    /// # Errors
    /// The first failure to delete one of the child's objects.
    pub(super) async fn delete_child(&self, job_name: &str, wait: bool) -> Result<Vec<String>> {
        let job = self
            .api::<Job>()
            .get_opt(job_name)
            .await
            .map_err(|e| errors::map(e, self.op("get", "jobs", job_name)))?;
        let Some(job) = job else {
            return Ok(self.delete_leftovers(job_name).await);
        };
        let mut removed = self.delete_made(job_name, &job).await?;
        if wait && let Err(why) = self.wait_gone(job_name).await {
            tracing::warn!(job_name, %why, "deleted, but did not see the Job go");
            removed.push(format!("Job {job_name} deleted but not seen gone: {why}"));
        }
        Ok(removed)
    }

    /// Deletes what `job`'s child has.
    pub(super) async fn delete_made(&self, job_name: &str, job: &Job) -> Result<Vec<String>> {
        let (removed, failure) = self.delete_objects(job_name, &made_for(job)).await;
        failure.map_or(Ok(removed), Err)
    }

    /// Deletes what may be left of a child whose Job is gone.
    async fn delete_leftovers(&self, job_name: &str) -> Vec<String> {
        let mut kinds = vec![Made::Secret];
        if self.settings.rbac_presets != RbacPresets::Off {
            kinds.extend([Made::ServiceAccount, Made::RoleBinding]);
        }
        if self.settings.rbac_presets == RbacPresets::ClusterWide {
            kinds.push(Made::ClusterRoleBinding);
        }
        kinds.push(Made::Service);
        let (removed, failure) = self.delete_objects(job_name, &kinds).await;
        if let Some(e) = failure {
            tracing::warn!(job_name, cause = %e, "could not delete all that may be left of a child whose Job is gone");
        }
        removed
    }

    /// Waits (up to [`DELETE_WAIT`]) until Job `job_name` is gone.
    async fn wait_gone(&self, job_name: &str) -> std::result::Result<(), String> {
        let gone = kube::runtime::wait::await_condition(
            self.api::<Job>(),
            job_name,
            |job: Option<&Job>| job.is_none(),
        );
        match tokio::time::timeout(DELETE_WAIT, gone).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("watching it failed: {e}")),
            Err(_) => Err(format!("still there after {DELETE_WAIT:?}")),
        }
    }
}

/// How long `delete` with `wait` waits for the Job to disappear.
const DELETE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// What the child of `job` has, newest last (deleted in reverse): its token Secret when its
/// bridge demands one, its ServiceAccount and binding when it asked for an RBAC preset, its
/// Job and Service.
fn made_for(job: &Job) -> Vec<Made> {
    let mut made = Vec::new();
    let annotations = job.metadata.annotations.as_ref();
    if annotations.is_some_and(|a| a.contains_key(TOKEN_KEY_ANNOTATION)) {
        made.push(Made::Secret);
    }
    if let Some(sa) = super::adopt::config_of(job).and_then(|c| c.sa_config) {
        made.push(Made::ServiceAccount);
        made.push(if sa.cluster_wide {
            Made::ClusterRoleBinding
        } else {
            Made::RoleBinding
        });
    }
    made.extend([Made::Job, Made::Service]);
    made
}

/// One kind of object created for a child, in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Made {
    Secret,
    ServiceAccount,
    RoleBinding,
    ClusterRoleBinding,
    Job,
    Service,
}

impl Made {
    pub(super) fn kind(self) -> &'static str {
        match self {
            Self::Secret => "Secret",
            Self::ServiceAccount => "ServiceAccount",
            Self::RoleBinding => "RoleBinding",
            Self::ClusterRoleBinding => "ClusterRoleBinding",
            Self::Job => "Job",
            Self::Service => "Service",
        }
    }

    pub(super) fn resource(self) -> &'static str {
        match self {
            Self::Secret => "secrets",
            Self::ServiceAccount => "serviceaccounts",
            Self::RoleBinding => "rolebindings",
            Self::ClusterRoleBinding => "clusterrolebindings",
            Self::Job => "jobs",
            Self::Service => "services",
        }
    }
}
