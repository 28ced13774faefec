//! Golden files of the generated objects (`tests/golden/*.yaml`), reviewed by hand against
//! the Kubernetes API conventions; `UPDATE_GOLDEN=1 cargo test golden` rewrites them after a
//! deliberate change. Also checks the restricted Pod Security Standard directly.

use std::path::PathBuf;

use super::{NS, default_objects};
use crate::{
    backend::{
        ChildMeta,
        kubernetes::{
            JobSettings, objects,
            rbac::{self, Binding},
        },
    },
    model::{EphemeralMcpServerConfig, RbacPreset, ServiceAccountConfig},
    model::{Ownership, Principal},
};

const JOB: &str = "mcp-server-time-1795900000-k3v9x2qa";

fn fixture(cluster_wide: bool) -> objects::ChildObjects {
    let mut config = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time")
        .with_args("--local-timezone 'Europe/Amsterdam'")
        .with_env("TZ", "UTC");
    config.sa_config = Some(ServiceAccountConfig {
        preset: RbacPreset::Minimal,
        cluster_wide,
    });
    let settings = JobSettings {
        runtime_image: "ghcr.io/mcp-ephemeral-k8s/runtime:test".into(),
        active_deadline_seconds: Some(86_400),
        ..super::settings()
    };
    objects::build(JOB, NS, &config, &time_meta(), &settings).unwrap()
}

/// A child made from the `time` preset by `alice`.
fn time_meta() -> ChildMeta {
    ChildMeta {
        preset: Some("time".into()),
        ownership: Ownership::of(&Principal::new("alice"), false),
        ready_timeout: Some(std::time::Duration::from_secs(120)),
        pool: false,
    }
}

fn check_golden(name: &str, value: &impl serde::Serialize) {
    let yaml = serde_yaml::to_string(value).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/backend/kubernetes/tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &yaml).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        yaml, expected,
        "{name} changed; review it and run with UPDATE_GOLDEN=1"
    );
}

#[test]
fn golden_job_service_and_namespaced_rbac() {
    let objects = fixture(false);
    check_golden("job.yaml", &objects.job);
    check_golden("service.yaml", &objects.service);
    check_golden("secret.yaml", &objects.secret.unwrap());
    let rbac = objects.rbac.unwrap();
    check_golden("serviceaccount.yaml", &rbac.service_account);
    let Binding::Namespaced(binding) = rbac.binding else {
        panic!("namespaced by default")
    };
    check_golden("rolebinding.yaml", &binding);
    check_golden(
        "clusterrole-minimal.yaml",
        &rbac::preset_cluster_role(RbacPreset::Minimal),
    );
    check_golden(
        "clusterrole-extensive.yaml",
        &rbac::preset_cluster_role(RbacPreset::Extensive),
    );
}

/// A warm-pool member of `time`: labelled with its pool, owned by nobody until handed out.
#[test]
fn golden_pool_member_job() {
    let config = crate::presets::Presets::embedded()
        .get("time")
        .unwrap()
        .config
        .clone();
    let meta = ChildMeta {
        preset: Some("time".into()),
        ownership: Ownership::default(),
        ready_timeout: Some(std::time::Duration::from_secs(120)),
        pool: true,
    };
    let objects = objects::build(JOB, NS, &config, &meta, &super::settings()).unwrap();
    check_golden("pool-job.yaml", &objects.job);
}

/// With `--package-cache pvc:mcp-package-cache`: the claim mounted at uv's and npm's cache
/// paths (a restricted pod may mount a claim), its files the image's group's.
#[test]
fn golden_job_with_a_shared_package_cache() {
    let config = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time");
    let settings = JobSettings {
        package_cache: Some("mcp-package-cache".into()),
        ..super::settings()
    };
    let job = objects::build(JOB, NS, &config, &time_meta(), &settings)
        .unwrap()
        .job;
    check_golden("job-package-cache.yaml", &job);
    let pod = job.spec.unwrap().template.spec.unwrap();
    let volumes = pod.volumes.unwrap();
    assert!(
        volumes
            .iter()
            .all(|v| v.persistent_volume_claim.is_some() && v.host_path.is_none())
    );
    // An image that serves MCP itself runs no package: no cache.
    let image = EphemeralMcpServerConfig {
        image: "ghcr.io/example/mcp:1".into(),
        runtime_exec: None,
        runtime_mcp: None,
        ..EphemeralMcpServerConfig::default()
    };
    let job = objects::build(JOB, NS, &image, &time_meta(), &settings)
        .unwrap()
        .job;
    assert!(job.spec.unwrap().template.spec.unwrap().volumes.is_none());
}

#[test]
fn golden_cluster_wide_binding_only_on_request() {
    let rbac = fixture(true).rbac.unwrap();
    let Binding::ClusterWide(binding) = rbac.binding else {
        panic!("cluster-wide when asked")
    };
    check_golden("clusterrolebinding.yaml", &binding);
}

/// The restricted Pod Security Standard, as it applies to our pods.
#[test]
fn pods_pass_the_restricted_pod_security_standard() {
    let job = fixture(false).job;
    let pod = job.spec.unwrap().template.spec.unwrap();
    let pod_security = pod.security_context.unwrap();
    assert_eq!(pod_security.run_as_non_root, Some(true));
    assert_eq!(
        pod_security.seccomp_profile.unwrap().type_,
        "RuntimeDefault"
    );
    assert!(pod.host_network.is_none() && pod.host_pid.is_none() && pod.host_ipc.is_none());
    assert!(pod.volumes.is_none(), "no hostPath or other volumes");
    for container in pod.containers {
        let security = container.security_context.unwrap();
        assert_eq!(security.allow_privilege_escalation, Some(false));
        assert_eq!(security.capabilities.unwrap().drop.unwrap(), ["ALL"]);
        assert_eq!(security.run_as_non_root, Some(true));
        assert!(security.privileged.is_none_or(|p| !p));
        assert_eq!(security.seccomp_profile.unwrap().type_, "RuntimeDefault");
        assert!(
            container
                .ports
                .unwrap()
                .iter()
                .all(|p| p.host_port.is_none())
        );
    }
}

/// The container of `config`'s Job.
fn container_of(config: &EphemeralMcpServerConfig) -> k8s_openapi::api::core::v1::Container {
    let pod = default_objects(JOB, config)
        .job
        .spec
        .unwrap()
        .template
        .spec
        .unwrap();
    pod.containers.into_iter().next().unwrap()
}

#[test]
fn children_without_rbac_get_no_token_and_no_account() {
    let config = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time");
    let objects = default_objects(JOB, &config);
    assert!(objects.rbac.is_none());
    let pod = objects.job.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.automount_service_account_token, Some(false));
    assert!(pod.service_account_name.is_none());
}

#[test]
fn secret_references_become_secret_key_refs() {
    let config = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-github")
        .with_env("GITHUB_TOKEN", "${secret:github/token}")
        .with_env("PLAIN", "value");
    let env = serde_json::to_value(container_of(&config).env).unwrap();
    assert_eq!(
        env,
        serde_json::json!([
            {"name": "GITHUB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "github", "key": "token", "optional": false}}},
            {"name": "PLAIN", "value": "value"},
            {"name": "MCP_EPHEMERAL_K8S_BRIDGE_TOKEN", "valueFrom": {"secretKeyRef": {"name": JOB, "key": "token", "optional": false}}},
        ])
    );
}

#[test]
fn the_job_runs_the_bridge_command_of_the_local_backend() {
    let config =
        EphemeralMcpServerConfig::runtime("npx", "@modelcontextprotocol/server-everything");
    let container = container_of(&config);
    assert_eq!(
        container.command.unwrap(),
        ["/usr/bin/tini", "--", "mcp-ephemeral-k8s"]
    );
    assert_eq!(
        container.args.unwrap(),
        config.bridge_args("0.0.0.0", 8080).unwrap().unwrap()
    );
}

#[test]
fn image_only_servers_keep_their_entrypoint() {
    let config = EphemeralMcpServerConfig::from_docker_image(
        "ghcr.io/github/github-mcp-server",
        Some(vec!["./github-mcp-server".into(), "sse".into()]),
    )
    .unwrap();
    let container = container_of(&config);
    assert_eq!(
        container.image.as_deref(),
        Some("ghcr.io/github/github-mcp-server")
    );
    assert_eq!(container.command.unwrap(), ["./github-mcp-server", "sse"]);
    assert!(container.args.is_none());
}

#[test]
fn the_startup_probe_lasts_the_ready_timeout_and_nothing_waits_before_probing() {
    let mut meta = time_meta();
    meta.ready_timeout = Some(std::time::Duration::from_secs(601));
    let config = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time");
    let objects = objects::build(JOB, NS, &config, &meta, &super::settings()).unwrap();
    let pod = objects.job.spec.unwrap().template.spec.unwrap();
    let container = &pod.containers[0];
    let startup = container.startup_probe.as_ref().unwrap();
    assert_eq!(startup.failure_threshold, Some(601));
    assert_eq!(startup.period_seconds, Some(1));
    assert_eq!(startup.initial_delay_seconds, None);
    let readiness = container.readiness_probe.as_ref().unwrap();
    assert_eq!(
        readiness.initial_delay_seconds, None,
        "no initialDelaySeconds at all"
    );
    // Without a ready timeout (an adopted child's objects): the probe settings' five minutes.
    meta.ready_timeout = None;
    let objects = objects::build(JOB, NS, &config, &meta, &super::settings()).unwrap();
    let pod = objects.job.spec.unwrap().template.spec.unwrap();
    let startup = pod.containers[0].startup_probe.clone().unwrap();
    assert_eq!(startup.failure_threshold, Some(300));
}

#[test]
fn package_mirrors_reach_every_child_unless_the_caller_was_allowed_its_own() {
    let mut settings = super::settings();
    settings.package_env = vec![
        (
            "PIP_INDEX_URL".to_owned(),
            "https://pypi.mirror/simple".to_owned(),
        ),
        (
            "npm_config_registry".to_owned(),
            "https://npm.mirror/".to_owned(),
        ),
    ];
    let config = EphemeralMcpServerConfig::runtime("uvx", "mcp-server-time")
        .with_env("npm_config_registry", "https://own.registry/");
    let objects = objects::build(JOB, NS, &config, &time_meta(), &settings).unwrap();
    let pod = objects.job.spec.unwrap().template.spec.unwrap();
    let env = pod.containers[0].env.clone().unwrap_or_default();
    let values = |name: &str| -> Vec<Option<String>> {
        env.iter()
            .filter(|e| e.name == name)
            .map(|e| e.value.clone())
            .collect()
    };
    assert_eq!(
        values("PIP_INDEX_URL"),
        [Some("https://pypi.mirror/simple".to_owned())]
    );
    assert_eq!(
        values("npm_config_registry"),
        [Some("https://own.registry/".to_owned())]
    );
}
