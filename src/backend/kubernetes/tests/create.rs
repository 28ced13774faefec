//! Creating children: the exact objects posted, rollback when a step fails, and each API
//! failure mapped to a message that says what to do.

use serde_json::{Value, json};

use super::{Expect, NS, backend, default_objects, verified};
use crate::{
    backend::{Backend, ChildMeta, Endpoints, Progress, kubernetes::KubernetesBackend},
    error::Error,
    model::{EphemeralMcpServerConfig, RbacPreset, ServiceAccountConfig},
};

const JOB: &str = "mcp-server-time-1-abcdefgh";

fn config() -> EphemeralMcpServerConfig {
    EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time").with_env("TZ", "UTC")
}

fn with_rbac() -> EphemeralMcpServerConfig {
    let mut config = config();
    config.sa_config = Some(ServiceAccountConfig {
        preset: RbacPreset::Minimal,
        cluster_wide: false,
    });
    config
}

/// Creates child `JOB` from `config` on `backend`.
async fn create(
    backend: &KubernetesBackend,
    config: &EphemeralMcpServerConfig,
) -> crate::error::Result<Endpoints> {
    backend
        .create(JOB, config, &ChildMeta::default(), &Progress::default())
        .await
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

fn path(group: &str, resource: &str) -> String {
    format!("{group}/namespaces/{NS}/{resource}")
}

#[tokio::test]
async fn create_posts_the_token_secret_then_the_job_then_the_service() {
    let objects = default_objects(JOB, &config());
    let secret = json(objects.secret.as_ref().unwrap());
    let token = super::settings().tokens.token(NS, JOB);
    assert_eq!(secret["stringData"], json!({"token": token}));
    let env = &json(&objects.job)["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(
        env.as_array()
            .unwrap()
            .contains(&json!({"name": "MCP_EPHEMERAL_K8S_BRIDGE_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": JOB, "key": "token", "optional": false}}})),
        "{env}"
    );
    assert!(
        !json(&objects.job).to_string().contains(&token),
        "never in the Job"
    );
    let (backend, verifier) = backend(vec![
        Expect::post(path("/api/v1", "secrets"))
            .body(secret.clone())
            .reply(secret),
        Expect::post(path("/apis/batch/v1", "jobs"))
            .body(json(&objects.job))
            .reply(json(&objects.job)),
        Expect::post(path("/api/v1", "services"))
            .body(json(&objects.service))
            .reply(json(&objects.service)),
    ]);
    let endpoints = create(&backend, &config()).await.unwrap();
    verified(verifier).await;
    assert_eq!(
        endpoints.url,
        format!("http://{JOB}.{NS}.svc.cluster.local:8080/mcp")
    );
    assert_eq!(
        endpoints.sse_url,
        format!("http://{JOB}.{NS}.svc.cluster.local:8080/sse")
    );
    assert_eq!(endpoints.authorization, Some(format!("Bearer {token}")));
}

#[tokio::test]
async fn an_image_that_serves_mcp_itself_gets_no_token() {
    let config = EphemeralMcpServerConfig {
        image: "ghcr.io/example/mcp:1".into(),
        ..EphemeralMcpServerConfig::default()
    };
    let objects = default_objects(JOB, &config);
    assert!(objects.secret.is_none());
    let (backend, verifier) = backend(vec![
        Expect::post(path("/apis/batch/v1", "jobs")).body(json(&objects.job)),
        Expect::post(path("/api/v1", "services")),
    ]);
    let endpoints = create(&backend, &config).await.unwrap();
    verified(verifier).await;
    assert_eq!(endpoints.authorization, None);
}

#[tokio::test]
async fn an_rbac_preset_adds_a_service_account_and_a_binding_to_the_preset_role() {
    let objects = default_objects(JOB, &with_rbac());
    let rbac = objects.rbac.as_ref().unwrap();
    let binding = match &rbac.binding {
        crate::backend::kubernetes::rbac::Binding::Namespaced(b) => json(b),
        crate::backend::kubernetes::rbac::Binding::ClusterWide(_) => {
            panic!("namespaced by default")
        }
    };
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "mcp-ephemeral-k8s-minimal"})
    );
    let (backend, verifier) = backend(vec![
        Expect::get("/apis/rbac.authorization.k8s.io/v1/clusterroles/mcp-ephemeral-k8s-minimal")
            .reply(json(
                &crate::backend::kubernetes::rbac::preset_cluster_role(RbacPreset::Minimal),
            )),
        Expect::post(path("/api/v1", "secrets")),
        Expect::post(path("/api/v1", "serviceaccounts")).body(json(&rbac.service_account)),
        Expect::post(path("/apis/rbac.authorization.k8s.io/v1", "rolebindings")).body(binding),
        Expect::post(path("/apis/batch/v1", "jobs")).body(json(&objects.job)),
        Expect::post(path("/api/v1", "services")).body(json(&objects.service)),
    ]);
    create(&backend, &with_rbac()).await.unwrap();
    verified(verifier).await;
}

#[tokio::test]
async fn a_preset_whose_role_is_not_installed_is_refused_before_anything_is_made() {
    let (backend, verifier) = backend(vec![
        Expect::get("/apis/rbac.authorization.k8s.io/v1/clusterroles/mcp-ephemeral-k8s-minimal")
            .fail(404, "not found"),
    ]);
    let error = create(&backend, &with_rbac()).await.unwrap_err();
    verified(verifier).await;
    assert!(
        error
            .to_string()
            .contains("kubectl apply -k deploy/overlays/rbac-presets"),
        "{error}"
    );
}

#[tokio::test]
async fn a_failed_step_rolls_back_what_was_made() {
    let (backend, verifier) = backend(vec![
        Expect::get("/apis/rbac.authorization.k8s.io/v1/clusterroles/mcp-ephemeral-k8s-minimal"),
        Expect::post(path("/api/v1", "secrets")),
        Expect::post(path("/api/v1", "serviceaccounts")),
        Expect::post(path("/apis/rbac.authorization.k8s.io/v1", "rolebindings")),
        Expect::post(path("/apis/batch/v1", "jobs"))
            .fail(403, "jobs.batch is forbidden: cannot create"),
        Expect::delete(format!(
            "{}/{JOB}",
            path("/apis/rbac.authorization.k8s.io/v1", "rolebindings")
        )),
        Expect::delete(format!("{}/{JOB}", path("/api/v1", "serviceaccounts"))),
        Expect::delete(format!("{}/{JOB}", path("/api/v1", "secrets"))),
    ]);
    let error = create(&backend, &with_rbac()).await.unwrap_err();
    verified(verifier).await;
    assert!(
        matches!(&error, Error::Forbidden { verb, resource } if verb == "create" && resource == "jobs"),
        "{error}"
    );
}

#[tokio::test]
async fn a_failed_service_deletes_the_job_in_the_foreground() {
    let (backend, verifier) = backend(vec![
        Expect::post(path("/api/v1", "secrets")),
        Expect::post(path("/apis/batch/v1", "jobs")),
        Expect::post(path("/api/v1", "services")).fail(409, "services \"x\" already exists"),
        Expect::delete(format!("{}/{JOB}", path("/apis/batch/v1", "jobs")))
            .body(json!({"propagationPolicy": "Foreground"})),
        Expect::delete(format!("{}/{JOB}", path("/api/v1", "secrets"))),
    ]);
    let error = create(&backend, &config()).await.unwrap_err();
    verified(verifier).await;
    assert!(
        error.to_string().contains(&format!(
            "a services named {JOB} exists already in namespace {NS}"
        )),
        "{error}"
    );
}

#[tokio::test]
async fn api_failures_say_what_to_do() {
    let cases = [
        (
            404,
            "namespaces \"agents\" not found",
            "kubectl create namespace agents",
        ),
        (
            403,
            "exceeded quota: compute-quota, requested: pods=1",
            "ResourceQuota of namespace agents",
        ),
        (403, "jobs.batch is forbidden", "may not create jobs"),
        (
            422,
            "Job.batch is invalid: spec.template.spec.containers[0].image: Required value",
            "refused to create jobs",
        ),
    ];
    for (code, message, expected) in cases {
        let (backend, verifier) = backend(vec![
            Expect::post(path("/api/v1", "secrets")),
            Expect::post(path("/apis/batch/v1", "jobs")).fail(code, message),
            Expect::delete(format!("{}/{JOB}", path("/api/v1", "secrets"))),
        ]);
        let error = create(&backend, &config()).await.unwrap_err();
        verified(verifier).await;
        assert!(error.to_string().contains(expected), "{code}: {error}");
    }
}

#[tokio::test]
async fn an_unreachable_api_server_is_named() {
    let (service, handle) = tower_test::mock::pair::<
        http::Request<kube::client::Body>,
        http::Response<kube::client::Body>,
    >();
    drop(handle);
    let client = kube::Client::new(service, NS);
    let backend = KubernetesBackend::new(
        client,
        NS,
        super::settings(),
        crate::backend::kubernetes::Access::ServiceDns,
    );
    let error = create(&backend, &config()).await.unwrap_err();
    assert!(
        error.to_string().contains("API server is unreachable"),
        "{error}"
    );
}
