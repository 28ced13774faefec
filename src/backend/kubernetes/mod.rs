//! The Kubernetes backend: each child is a Job running the bridge in the runtime image, a
//! Service in front of it, and — only for an RBAC preset — a ServiceAccount, Role and
//! RoleBinding. Everything carries our labels, a failed create rolls back, readiness is
//! watched, deletion removes everything (foreground), and a restarted daemon adopts the
//! children it finds.
//!
//! Parts: [`objects`] and [`rbac`] (the objects, pure), [`pods`] (readiness and logs),
//! [`status`] (the status summary), [`errors`] (API failures that say what to do),
//! [`service_proxy`] (reaching children through the API server from outside the cluster).

mod adopt;
mod apply;
pub mod errors;
pub mod labels;
pub mod objects;
pub mod pods;
pub mod rbac;
pub mod service_proxy;
mod settings;
pub mod status;
mod tokens;

#[cfg(test)]
pub(crate) mod tests;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use k8s_openapi::api::{
    batch::v1::Job,
    core::v1::{Event, Pod},
};
use kube::{
    Api, Client,
    api::{ListParams, Patch, PatchParams},
};

use super::{Adopted, Backend, ChildMeta, Endpoints, Progress};
use crate::{
    error::{Error, Result},
    model::{EphemeralMcpServerConfig, MountRecord, MountTransport, Ownership, ServerStatus},
    upstream::{self, Connector, Upstream},
};
use errors::Op;
use labels::{MOUNT_ANNOTATION, SELECTION_ANNOTATION, instance_selector};
pub use settings::{JobSettings, RbacPresets};
pub use tokens::{ChildTokens, MIN_KEY_LEN};

/// How the daemon and its users reach children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// From inside the cluster: the Service's DNS name.
    ServiceDns,
    /// From outside: the API server's service proxy at this base URL.
    ApiServerProxy {
        /// The cluster's URL, e.g. `https://10.0.0.1:6443`.
        cluster_url: String,
    },
}

/// Runs children as Jobs in one namespace.
pub struct KubernetesBackend {
    client: Client,
    namespace: String,
    settings: JobSettings,
    access: Access,
}

impl KubernetesBackend {
    /// A backend using `client` in `namespace`.
    pub fn new(
        client: Client,
        namespace: impl Into<String>,
        settings: JobSettings,
        access: Access,
    ) -> Self {
        Self {
            client,
            namespace: namespace.into(),
            settings,
            access,
        }
    }

    /// A backend from the environment: the kubeconfig (`KUBECONFIG`, `context` if given)
    /// or the in-cluster configuration; `namespace` or else the pod's own namespace
    /// in-cluster, else the context's, else `default`.
    ///
    /// # Errors
    /// [`Error::InvalidKubeConfig`] when there is no usable configuration.
    pub async fn from_environment(
        namespace: Option<String>,
        context: Option<String>,
        settings: JobSettings,
    ) -> Result<Self> {
        crate::tls::install_crypto_provider();
        let options = kube::config::KubeConfigOptions {
            context,
            ..Default::default()
        };
        let config = match kube::Config::incluster() {
            Ok(config) if options.context.is_none() => config,
            _ => kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|e| Error::InvalidKubeConfig(e.to_string()))?,
        };
        let in_cluster =
            std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() && options.context.is_none();
        let access = if in_cluster {
            Access::ServiceDns
        } else {
            Access::ApiServerProxy {
                cluster_url: config
                    .cluster_url
                    .to_string()
                    .trim_end_matches('/')
                    .to_owned(),
            }
        };
        let namespace = namespace.unwrap_or_else(|| config.default_namespace.clone());
        let client =
            Client::try_from(config).map_err(|e| Error::InvalidKubeConfig(e.to_string()))?;
        Ok(Self::new(client, namespace, settings, access))
    }

    /// Whether a kubeconfig or an in-cluster configuration is there (for `--backend auto`).
    pub fn configured() -> bool {
        std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
            || std::env::var_os("KUBECONFIG").is_some()
            || std::env::var_os("HOME")
                .is_some_and(|home| std::path::Path::new(&home).join(".kube/config").is_file())
    }

    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn op<'a>(&'a self, verb: &'a str, resource: &'a str, name: &'a str) -> Op<'a> {
        Op {
            verb,
            resource,
            namespace: &self.namespace,
            name,
        }
    }

    /// The token child `job_name`'s bridge demands.
    fn token(&self, job_name: &str) -> String {
        self.settings.tokens.token(&self.namespace, job_name)
    }

    /// Where child `job_name` listening on `port` is reached, and with what `token`.
    fn endpoints(&self, job_name: &str, port: u16, token: Option<String>) -> Endpoints {
        let authorization = token.map(|t| format!("Bearer {t}"));
        match &self.access {
            Access::ServiceDns => Endpoints {
                authorization,
                ..Endpoints::of_bridge(&format!(
                    "http://{job_name}.{}.svc.cluster.local:{port}",
                    self.namespace
                ))
            },
            Access::ApiServerProxy { cluster_url } => {
                let path = |endpoint| {
                    service_proxy::service_proxy_path(&self.namespace, job_name, endpoint)
                };
                Endpoints {
                    url: format!("{cluster_url}{}", path("mcp")),
                    sse_url: format!("{cluster_url}{}", path("sse")),
                    authorization,
                    listening: None,
                }
            }
        }
    }
}

#[async_trait]
impl Backend for KubernetesBackend {
    fn kind(&self) -> &'static str {
        "kubernetes"
    }

    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }

    async fn create(
        &self,
        job_name: &str,
        config: &EphemeralMcpServerConfig,
        meta: &ChildMeta,
        progress: &Progress,
    ) -> Result<Endpoints> {
        let objects = objects::build(job_name, &self.namespace, config, meta, &self.settings)?;
        progress.report(format!(
            "creating Job {job_name} in namespace {}",
            self.namespace
        ));
        let mut made = Vec::new();
        if let Err(error) = self.create_objects(job_name, &objects, &mut made).await {
            tracing::warn!(job_name, cause = %error, rolled_back = made.len(), "create failed; rolling back");
            let (_, rollback_error) = self.delete_objects(job_name, &made).await;
            if let Some(e) = rollback_error {
                tracing::error!(job_name, cause = %e, "rollback failed; objects may be left (label app.kubernetes.io/instance={job_name})");
            }
            return Err(error);
        }
        progress.timings().reach("created");
        let token = config.uses_bridge().then(|| self.token(job_name));
        Ok(self.endpoints(job_name, config.port, token))
    }

    async fn wait_ready(
        &self,
        job_name: &str,
        timeout: Duration,
        progress: &Progress,
    ) -> Result<()> {
        pods::wait_ready(
            &self.api::<Pod>(),
            &self.api::<Event>(),
            &self.namespace,
            job_name,
            timeout,
            progress,
        )
        .await
    }

    async fn status(&self, job_name: &str) -> Result<ServerStatus> {
        let job = self
            .api::<Job>()
            .get_opt(job_name)
            .await
            .map_err(|e| errors::map(e, self.op("get", "jobs", job_name)))?
            .ok_or_else(|| Error::JobNotFound {
                job_name: job_name.to_owned(),
            })?;
        let pods_api = self.api::<Pod>();
        let pods = pods_api
            .list(&ListParams::default().labels(&instance_selector(job_name)))
            .await
            .map_err(|e| errors::map(e, self.op("list", "pods", job_name)))?
            .items;
        let log_tail = match status::newest(&pods).and_then(|p| p.metadata.name.clone()) {
            Some(pod) => pods::log_tail(&pods_api, &pod).await,
            None => Vec::new(),
        };
        let port = adopt::config_of(&job).map_or(crate::model::DEFAULT_CHILD_PORT, |c| c.port);
        Ok(status::summarize(
            job_name,
            &self.endpoints(job_name, port, None).url,
            &job,
            &pods,
            log_tail,
        ))
    }

    /// One pod list, no Job and no logs: its newest pod is ready.
    async fn alive(&self, job_name: &str) -> bool {
        let listed = self
            .api::<Pod>()
            .list(&ListParams::default().labels(&instance_selector(job_name)))
            .await;
        listed.is_ok_and(|pods| {
            status::newest(&pods.items)
                .is_some_and(|pod| matches!(pods::pod_state(pod), pods::PodState::Ready))
        })
    }

    async fn delete(&self, job_name: &str, wait: bool) -> Result<Vec<String>> {
        self.delete_child(job_name, wait).await
    }

    async fn adopt(&self, gc: bool) -> Result<Vec<Adopted>> {
        self.adopt_children(gc).await
    }

    async fn hand_out(&self, job_name: &str, ownership: &Ownership, age: Duration) -> Result<()> {
        self.hand_out_job(job_name, ownership, age).await
    }

    async fn record_mount(&self, job_name: &str, mount: Option<&MountRecord>) -> Result<()> {
        use serde_json::Value;
        let name = mount.map_or(Value::Null, |m| {
            Value::String(m.name.clone().unwrap_or_default())
        });
        let selection = mount
            .filter(|m| !m.selection.is_all())
            .and_then(|m| serde_json::to_string(&m.selection).ok())
            .map_or(Value::Null, Value::String);
        let annotations =
            serde_json::json!({ MOUNT_ANNOTATION: name, SELECTION_ANNOTATION: selection });
        let patch = serde_json::json!({ "metadata": { "annotations": annotations } });
        self.api::<Job>()
            .patch(job_name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(drop)
            .map_err(|e| errors::map(e, self.op("patch", "jobs", job_name)))
    }

    fn connector(
        &self,
        job_name: &str,
        transport: MountTransport,
        authorization: Option<&str>,
    ) -> Result<Option<Connector>> {
        if self.access == Access::ServiceDns {
            // In the cluster the Service URL works.
            return Ok(None);
        }
        if transport == MountTransport::Sse {
            // The legacy SSE endpoint event names a path on the child, not on the proxy.
            return Err(Error::invalid(
                "transport",
                "legacy SSE mounts cannot go through the Kubernetes API server proxy (the \
                 daemon runs outside the cluster); mount with transport \"streamable-http\" \
                 (the default)",
            ));
        }
        let client = service_proxy::KubeProxyClient::new(self.client.clone(), authorization);
        let uri: Arc<str> =
            service_proxy::service_proxy_path(&self.namespace, job_name, "mcp").into();
        Ok(Some(Arc::new(move || {
            let (client, uri) = (client.clone(), uri.clone());
            Box::pin(async move {
                let connect = Upstream::connect_http(client, uri);
                upstream::within(
                    upstream::CONNECT_TIMEOUT,
                    "through the API server proxy ",
                    connect,
                )
                .await
            })
        })))
    }
}
