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

    /// What a child may have, by what this daemon may create (`--rbac-presets`): deletion
    /// must not depend on what this daemon remembers (it may have been restarted), nor call
    /// the API for kinds the daemon has no permission for.
    pub(super) fn everything(&self) -> Vec<Made> {
        let mut made = vec![Made::Secret];
        if self.settings.rbac_presets != RbacPresets::Off {
            made.extend([Made::ServiceAccount, Made::RoleBinding]);
        }
        if self.settings.rbac_presets == RbacPresets::ClusterWide {
            made.push(Made::ClusterRoleBinding);
        }
        made.extend([Made::Job, Made::Service]);
        made
    }
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
