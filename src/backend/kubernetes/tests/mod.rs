//! The Kubernetes backend against a mocked API server (tower-test): each test states the
//! exact requests it expects — method, path, query and JSON body — and the replies.

mod create;
mod deletion;
mod golden;
mod lifecycle;
mod permissions;
mod pools;

use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};

use super::{Access, JobSettings, KubernetesBackend, objects};
use crate::{backend::ChildMeta, model::EphemeralMcpServerConfig};

/// The namespace every test works in.
pub const NS: &str = "agents";

/// The daemon's settings in every test: the defaults, with a fixed key for children's
/// tokens so the objects are the same on every run.
pub fn settings() -> JobSettings {
    JobSettings {
        tokens: super::ChildTokens::from_key(b"the key of the tests, 32 bytes or more"),
        ..JobSettings::default()
    }
}

/// One request the API server expects, and its reply.
pub struct Expect {
    pub method: Method,
    pub path: String,
    /// Text the query string must contain (e.g. `labelSelector=…`).
    pub query: Option<String>,
    /// The exact JSON body it must carry.
    pub body: Option<Value>,
    pub status: StatusCode,
    pub reply: Value,
    /// A reply that is not JSON (logs) or is several JSON lines (watches).
    pub raw: Option<String>,
}

impl Expect {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: None,
            body: None,
            status: StatusCode::OK,
            reply: json!({}),
            raw: None,
        }
    }

    pub fn patch(path: impl Into<String>) -> Self {
        Self::new(Method::PATCH, path)
    }

    /// Replies with `text` as it is.
    pub fn text(mut self, text: &str) -> Self {
        self.raw = Some(text.to_owned());
        self
    }

    /// Replies with watch events: one `{"type": …, "object": …}` line each.
    pub fn events(self, events: &[(&str, Value)]) -> Self {
        let lines: Vec<String> = events
            .iter()
            .map(|(kind, object)| json!({"type": kind, "object": object}).to_string())
            .collect();
        self.text(&lines.join("\n"))
    }

    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    pub fn query(mut self, contains: &str) -> Self {
        self.query = Some(contains.to_owned());
        self
    }

    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn reply(mut self, reply: Value) -> Self {
        self.reply = reply;
        self
    }

    /// Replies with a Kubernetes `Status` failure.
    pub fn fail(mut self, code: u16, message: &str) -> Self {
        self.status = StatusCode::from_u16(code).unwrap();
        let reason = match code {
            403 => "Forbidden",
            404 => "NotFound",
            409 => "AlreadyExists",
            422 => "Invalid",
            _ => "InternalError",
        };
        self.reply = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                            "reason": reason, "code": code});
        self
    }
}

/// A backend on a mocked API server that answers `expected` in order; the returned task
/// fails if a request differs or an expected one never comes.
pub fn backend(expected: Vec<Expect>) -> (KubernetesBackend, tokio::task::JoinHandle<()>) {
    let (backend, verifier, _) = backend_with(expected, settings());
    (backend, verifier)
}

/// Every request the mocked API server saw: method, path, query.
pub type Seen = std::sync::Arc<std::sync::Mutex<Vec<(Method, String, String)>>>;

/// As [`backend`], with `settings`, also recording every request.
pub fn backend_with(
    expected: Vec<Expect>,
    settings: JobSettings,
) -> (KubernetesBackend, tokio::task::JoinHandle<()>, Seen) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let seen_requests = Seen::default();
    let record = seen_requests.clone();
    let verifier = tokio::spawn(async move {
        let mut handle = std::pin::pin!(handle);
        for (index, expect) in expected.into_iter().enumerate() {
            let (request, send) = handle.next_request().await.unwrap_or_else(|| {
                panic!(
                    "request #{index} ({} {}) never came",
                    expect.method, expect.path
                )
            });
            let (parts, body) = request.into_parts();
            let query = urlencoding_decode(parts.uri.query().unwrap_or_default());
            record
                .lock()
                .unwrap()
                .push((parts.method.clone(), parts.uri.path().to_owned(), query));
            let seen = format!("{} {}", parts.method, parts.uri);
            assert_eq!(parts.method, expect.method, "request #{index}: {seen}");
            assert_eq!(parts.uri.path(), expect.path, "request #{index}: {seen}");
            if let Some(query) = &expect.query {
                let actual = urlencoding_decode(parts.uri.query().unwrap_or_default());
                assert!(
                    actual.contains(query.as_str()),
                    "request #{index}: {seen} lacks {query}"
                );
            }
            if let Some(expected_body) = &expect.body {
                let bytes = body.collect_bytes().await.unwrap();
                let actual: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(&actual, expected_body, "request #{index}: {seen} body");
            }
            let bytes = match &expect.raw {
                Some(raw) => raw.clone().into_bytes(),
                None => serde_json::to_vec(&expect.reply).unwrap(),
            };
            let response = Response::builder()
                .status(expect.status)
                .header("content-type", "application/json")
                .body(Body::from(bytes))
                .unwrap();
            send.send_response(response);
        }
    });
    let client = kube::Client::new(service, NS);
    let backend = KubernetesBackend::new(client, NS, settings, Access::ServiceDns);
    (backend, verifier, seen_requests)
}

/// Waits for the verifier: every expected request must have come.
pub async fn verified(verifier: tokio::task::JoinHandle<()>) {
    tokio::time::timeout(Duration::from_secs(5), verifier)
        .await
        .expect("an expected request never came")
        .expect("a request did not match");
}

pub fn urlencoding_decode(query: &str) -> String {
    let mut out = Vec::new();
    let bytes = query.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A pod of child `job` in the given state (JSON, as the API returns it).
pub fn pod(
    job: &str,
    phase: &str,
    ready: bool,
    waiting: Option<&str>,
    terminated: Option<i32>,
) -> Value {
    let state = match (waiting, terminated) {
        (Some(reason), _) => {
            json!({"waiting": {"reason": reason, "message": format!("{reason} for the image")}})
        }
        (_, Some(code)) => json!({"terminated": {"exitCode": code, "reason": "Error"}}),
        _ => json!({"running": {}}),
    };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{job}-abcde"), "namespace": NS, "creationTimestamp": "2026-11-29T10:00:00Z",
                     "labels": {"app.kubernetes.io/instance": job}},
        "spec": {"containers": [{"name": "mcp-server"}]},
        "status": {
            "phase": phase,
            "podIP": "10.1.2.3",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }},
                           {"type": "PodScheduled", "status": if phase == "Pending" { "False" } else { "True" }}],
            "containerStatuses": [{"name": "mcp-server", "ready": ready, "started": ready, "restartCount": 0, "image": "i", "imageID": "",
                                   "state": state}]
        }
    })
}

/// A pod list with `items`.
pub fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "100"}, "items": items})
}

/// The objects the backend builds for `config` as child `job`, with the default settings.
pub fn default_objects(job: &str, config: &EphemeralMcpServerConfig) -> objects::ChildObjects {
    objects::build(job, NS, config, &ChildMeta::default(), &settings()).unwrap()
}
