//! The Kubernetes objects of one child, built from its configuration: a Job running the
//! bridge (or an image that serves MCP itself), a Service in front of it, the Secret holding
//! the token the bridge demands, and — only when an RBAC preset is asked for — a
//! ServiceAccount with a Role (or ClusterRole) and binding.
//!
//! Pure functions, so the objects can be checked without a cluster (see the golden files).

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{
        batch::v1::{Job, JobSpec},
        core::v1::{
            Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
            PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
            ResourceRequirements, SeccompProfile, Secret, SecretKeySelector, SecurityContext,
            Service, ServicePort, ServiceSpec, Volume, VolumeMount,
        },
    },
    apimachinery::pkg::{
        api::resource::Quantity, apis::meta::v1::ObjectMeta, util::intstr::IntOrString,
    },
};

use super::{
    JobSettings,
    labels::{
        CONFIG_ANNOTATION, INSTANCE, MANAGED_BY, OWNER_ANNOTATION, POOL, PRESET_ANNOTATION,
        SHARED_ANNOTATION, TOKEN_KEY_ANNOTATION, TOKEN_SECRET_KEY, labels,
    },
    rbac::{self, Rbac},
};
use crate::{
    backend::ChildMeta,
    error::Result,
    model::{BRIDGE_TOKEN_ENV, DEFAULT_RUNTIME_IMAGE, EphemeralMcpServerConfig},
};

/// The name of the container, and of its port (the Service targets it by name).
pub const CONTAINER: &str = "mcp-server";

/// The name of the port, in the Service too (the API server proxy addresses `<svc>:mcp`).
pub const PORT_NAME: &str = "mcp";

/// The ENTRYPOINT of the runtime image (the Dockerfile's `runtime` target; a test checks
/// they match): tini as PID 1, then this binary, whose `bridge` the Job's args run.
pub const RUNTIME_ENTRYPOINT: [&str; 3] = ["/usr/bin/tini", "--", "mcp-ephemeral-k8s"];

/// Where the runtime image keeps uv's and npm's caches (the variable naming each, its path,
/// and its sub-directory of a shared cache volume); the Dockerfile's `ENV` says the same (a
/// test checks it).
pub const PACKAGE_CACHES: [(&str, &str, &str); 2] = [
    ("UV_CACHE_DIR", "/home/mcp/.cache/uv", "uv"),
    ("NPM_CONFIG_CACHE", "/home/mcp/.npm", "npm"),
];

/// The name of the shared package cache volume in a pod.
const CACHE_VOLUME: &str = "package-cache";

/// The runtime image's group (its user's): what children write to a shared cache is its.
const RUNTIME_GID: i64 = 65_532;

/// Everything created for one child.
#[derive(Debug, Clone)]
pub struct ChildObjects {
    /// The Job running the server.
    pub job: Job,
    /// The Service in front of its pod.
    pub service: Service,
    /// The token its bridge demands, which the pod reads as [`BRIDGE_TOKEN_ENV`]; `None`
    /// for an image that serves MCP itself (it demands what it demands).
    pub secret: Option<Secret>,
    /// The ServiceAccount and permissions, when an RBAC preset was asked for.
    pub rbac: Option<Rbac>,
}

fn meta(name: &str, namespace: &str, settings: &JobSettings) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels(name, &settings.owner)),
        ..ObjectMeta::default()
    }
}

/// Builds the objects of child `name` in `namespace`.
///
/// # Errors
/// When the configuration's arguments cannot be split (checked by validation before).
pub fn build(
    name: &str,
    namespace: &str,
    config: &EphemeralMcpServerConfig,
    meta: &ChildMeta,
    settings: &JobSettings,
) -> Result<ChildObjects> {
    let rbac = config
        .sa_config
        .as_ref()
        .map(|sa| rbac::build(name, namespace, sa, &labels(name, &settings.owner)));
    let job = job(name, namespace, config, meta, settings, rbac.is_some())?;
    let secret = config
        .uses_bridge()
        .then(|| token_secret(name, namespace, settings));
    Ok(ChildObjects {
        service: service(name, namespace, config, settings),
        job,
        secret,
        rbac,
    })
}

/// The Secret `name` holding the token of child `name`.
fn token_secret(name: &str, namespace: &str, settings: &JobSettings) -> Secret {
    Secret {
        metadata: meta(name, namespace, settings),
        type_: Some("Opaque".to_owned()),
        string_data: Some(BTreeMap::from([(
            TOKEN_SECRET_KEY.to_owned(),
            settings.tokens.token(namespace, name),
        )])),
        ..Secret::default()
    }
}

/// `name` read from `key` of Secret `secret`.
fn from_secret(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// `GET /health` on the child's port.
fn health() -> HTTPGetAction {
    HTTPGetAction {
        path: Some("/health".to_owned()),
        port: IntOrString::String(PORT_NAME.to_owned()),
        ..HTTPGetAction::default()
    }
}

/// The startup probe: `/health` every `probe.period_seconds` from the first second, for
/// `ready_timeout` (the create's; else the readiness probe's failures times its period) —
/// no fixed delay holds up a child that starts fast, and a slow install is not cut short.
fn startup_probe(
    probe: &crate::model::ProbeConfig,
    ready_timeout: Option<std::time::Duration>,
) -> Probe {
    let period = probe.period_seconds.max(1);
    let attempts = match ready_timeout {
        Some(timeout) => {
            i32::try_from(timeout.as_secs().div_ceil(period as u64)).unwrap_or(i32::MAX)
        }
        None => probe.failure_threshold,
    };
    Probe {
        http_get: Some(health()),
        period_seconds: Some(period),
        timeout_seconds: Some(probe.timeout_seconds),
        failure_threshold: Some(attempts.max(1)),
        ..Probe::default()
    }
}

fn job(
    name: &str,
    namespace: &str,
    config: &EphemeralMcpServerConfig,
    child: &ChildMeta,
    settings: &JobSettings,
    with_service_account: bool,
) -> Result<Job> {
    let mut metadata = meta(name, namespace, settings);
    if let (true, Some(preset), Some(labels)) = (child.pool, &child.preset, &mut metadata.labels) {
        labels.insert(POOL.to_owned(), preset.clone());
    }
    let shown = serde_json::to_string(&config.redacted()).unwrap_or_default();
    let mut annotations = BTreeMap::from([(CONFIG_ANNOTATION.to_owned(), shown)]);
    if let Some(preset) = &child.preset {
        annotations.insert(PRESET_ANNOTATION.to_owned(), preset.clone());
    }
    if let Some(owner) = &child.ownership.owner {
        annotations.insert(OWNER_ANNOTATION.to_owned(), owner.clone());
    }
    if child.ownership.shared {
        annotations.insert(SHARED_ANNOTATION.to_owned(), "true".to_owned());
    }
    let image = if config.image == DEFAULT_RUNTIME_IMAGE {
        settings.runtime_image.clone()
    } else {
        config.image.clone()
    };
    let (command, args) = match config.bridge_args(&config.host, config.port)? {
        Some(args) => (
            Some(RUNTIME_ENTRYPOINT.map(String::from).to_vec()),
            Some(args),
        ),
        None => (config.entrypoint.clone(), None),
    };
    let mut env: Vec<EnvVar> = config
        .env
        .iter()
        .map(|(name, value)| match crate::secrets::secret_ref(value) {
            // Kubernetes reads the Secret into the pod; its value never passes here.
            Some(secret) => from_secret(name, &secret.name, &secret.key),
            None => EnvVar {
                name: name.clone(),
                value: Some(value.clone()),
                ..EnvVar::default()
            },
        })
        .collect();
    // Where packages come from, unless the caller said (only with `--allow-env`), as on
    // the local backend.
    let package_env = settings.package_env.iter();
    let not_given = package_env.filter(|(name, _)| !config.env.contains_key(name));
    env.extend(not_given.map(|(name, value)| EnvVar {
        name: name.clone(),
        value: Some(value.clone()),
        ..EnvVar::default()
    }));
    // A shared package cache, for children that run a package (`--package-cache`).
    let cache = settings.package_cache.as_ref().filter(|_| args.is_some());
    if cache.is_some() {
        let not_given = PACKAGE_CACHES
            .iter()
            .filter(|(name, ..)| !config.env.contains_key(*name));
        env.extend(not_given.map(|(name, path, _)| EnvVar {
            name: (*name).to_owned(),
            value: Some((*path).to_owned()),
            ..EnvVar::default()
        }));
    }
    if args.is_some() {
        // The bridge reads it and keeps it from the command; callers cannot set this name.
        env.push(from_secret(BRIDGE_TOKEN_ENV, name, TOKEN_SECRET_KEY));
        annotations.insert(
            TOKEN_KEY_ANNOTATION.to_owned(),
            settings.tokens.key_id().to_owned(),
        );
    }
    metadata.annotations = Some(annotations);
    let probe = &config.probe_config;
    let container = Container {
        name: CONTAINER.to_owned(),
        image: Some(image),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        command,
        args,
        env: (!env.is_empty()).then_some(env),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.to_owned()),
            container_port: i32::from(config.port),
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        resources: Some(ResourceRequirements {
            requests: Some(quantities(&config.resource_requests)),
            limits: Some(quantities(&config.resource_limits)),
            ..ResourceRequirements::default()
        }),
        // Started when /health answers (the bridge says 503 until its server is
        // initialized), probed every period from the start; then ready while it answers.
        startup_probe: Some(startup_probe(probe, child.ready_timeout)),
        readiness_probe: Some(Probe {
            http_get: Some(health()),
            // No fixed delay unless asked: the startup probe already waited for the start.
            initial_delay_seconds: (probe.initial_delay_seconds > 0)
                .then_some(probe.initial_delay_seconds),
            period_seconds: Some(probe.period_seconds),
            timeout_seconds: Some(probe.timeout_seconds),
            success_threshold: Some(probe.success_threshold),
            failure_threshold: Some(probe.failure_threshold),
            ..Probe::default()
        }),
        volume_mounts: cache.map(|_| {
            let mounts = PACKAGE_CACHES.iter().map(|(_, path, sub)| VolumeMount {
                name: CACHE_VOLUME.to_owned(),
                mount_path: (*path).to_owned(),
                sub_path: Some((*sub).to_owned()),
                ..VolumeMount::default()
            });
            mounts.collect()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                ..Capabilities::default()
            }),
            run_as_non_root: Some(true),
            seccomp_profile: Some(runtime_default()),
            ..SecurityContext::default()
        }),
        ..Container::default()
    };
    let pod = PodSpec {
        containers: vec![container],
        restart_policy: Some("Never".to_owned()),
        automount_service_account_token: Some(with_service_account),
        service_account_name: with_service_account.then(|| name.to_owned()),
        enable_service_links: Some(false),
        volumes: cache.map(|claim| {
            vec![Volume {
                name: CACHE_VOLUME.to_owned(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim.clone(),
                    read_only: None,
                }),
                ..Volume::default()
            }]
        }),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            seccomp_profile: Some(runtime_default()),
            // The cache's files group-owned by the image's user, changed only when its root
            // is not (a large cache is not walked at every start).
            fs_group: cache.map(|_| RUNTIME_GID),
            fs_group_change_policy: cache.map(|_| "OnRootMismatch".to_owned()),
            ..PodSecurityContext::default()
        }),
        ..PodSpec::default()
    };
    Ok(Job {
        metadata,
        spec: Some(JobSpec {
            // A server that crashed is reported, not silently restarted into a new session.
            backoff_limit: Some(0),
            ttl_seconds_after_finished: Some(settings.ttl_seconds_after_finished),
            active_deadline_seconds: settings.active_deadline_seconds,
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(name, &settings.owner)),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    })
}

fn service(
    name: &str,
    namespace: &str,
    config: &EphemeralMcpServerConfig,
    settings: &JobSettings,
) -> Service {
    Service {
        metadata: meta(name, namespace, settings),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(BTreeMap::from([
                (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
                (INSTANCE.to_owned(), name.to_owned()),
            ])),
            ports: Some(vec![ServicePort {
                name: Some(PORT_NAME.to_owned()),
                port: i32::from(config.port),
                target_port: Some(IntOrString::String(PORT_NAME.to_owned())),
                protocol: Some("TCP".to_owned()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".to_owned(),
        ..SeccompProfile::default()
    }
}

fn quantities(map: &BTreeMap<String, String>) -> BTreeMap<String, Quantity> {
    map.iter()
        .map(|(k, v)| (k.clone(), Quantity(v.clone())))
        .collect()
}
