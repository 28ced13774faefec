//! Turning Kubernetes API failures into errors that say what to do.

use crate::error::Error;

/// What the daemon was doing when the API failed: the verb and resource (as in RBAC) and
/// the object.
#[derive(Debug, Clone, Copy)]
pub struct Op<'a> {
    /// The RBAC verb, e.g. `create`.
    pub verb: &'a str,
    /// The RBAC resource, e.g. `jobs`.
    pub resource: &'a str,
    /// The namespace.
    pub namespace: &'a str,
    /// The object's name.
    pub name: &'a str,
}

/// The HTTP status of an API error, if the API server answered.
pub fn status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Whether the API answered 404.
pub fn is_not_found(error: &kube::Error) -> bool {
    status_code(error) == Some(404)
}

/// Maps a failed API call to the crate's error: 403 names the missing permission (or the
/// exceeded quota), 404 on a namespace says to create it, 409 names the conflicting object,
/// and a transport failure says the API server is unreachable.
pub fn map(error: kube::Error, op: Op<'_>) -> Error {
    let Op {
        verb,
        resource,
        namespace,
        name,
    } = op;
    // Only a failed create is a failure to create a server.
    let failed = |text: String| {
        if verb == "create" {
            Error::ServerCreation(text)
        } else {
            Error::Kubernetes(text)
        }
    };
    match &error {
        kube::Error::Api(status) => match status.code {
            403 if status.message.contains("exceeded quota") => Error::LimitReached(format!(
                "the ResourceQuota of namespace {namespace} does not allow another {resource}: {}; \
                 delete a server or raise the quota",
                status.message
            )),
            403 => Error::Forbidden {
                verb: verb.to_owned(),
                resource: resource.to_owned(),
            },
            404 if status.message.contains("namespaces") => {
                Error::NamespaceNotFound(namespace.to_owned())
            }
            409 => failed(format!(
                "a {resource} named {name} exists already in namespace {namespace}; delete it \
                 (kubectl -n {namespace} delete {resource} {name}) or create again for a new name"
            )),
            _ => failed(format!(
                "the Kubernetes API refused to {verb} {resource} {name}: {} (HTTP {})",
                status.message, status.code
            )),
        },
        _ => failed(format!(
            "cannot {verb} {resource} {name}: the Kubernetes API server is unreachable ({error}); \
             check the cluster and the kubeconfig"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, message: &str) -> kube::Error {
        let status = kube::core::Status {
            code,
            message: message.to_owned(),
            ..kube::core::Status::default()
        };
        kube::Error::Api(Box::new(status))
    }

    const OP: Op<'static> = Op {
        verb: "create",
        resource: "jobs",
        namespace: "agents",
        name: "time-1-abcdefgh",
    };

    #[test]
    fn forbidden_names_the_verb_and_resource() {
        let text = map(api(403, "jobs.batch is forbidden: User cannot create"), OP).to_string();
        assert!(text.contains("may not create jobs"), "{text}");
    }

    #[test]
    fn quota_is_a_limit() {
        let text = map(api(403, "exceeded quota: compute, requested: pods=1"), OP).to_string();
        assert!(
            text.starts_with("limit reached: the ResourceQuota of namespace agents"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_namespace_says_how_to_create_it() {
        let text = map(api(404, "namespaces \"agents\" not found"), OP).to_string();
        assert!(text.contains("kubectl create namespace agents"), "{text}");
    }

    #[test]
    fn conflicts_name_the_object() {
        let text = map(api(409, "already exists"), OP).to_string();
        assert!(
            text.contains("a jobs named time-1-abcdefgh exists already"),
            "{text}"
        );
    }

    #[test]
    fn an_unreachable_api_server_is_said() {
        let error = kube::Error::Service("connection refused".into());
        let text = map(error, OP).to_string();
        assert!(text.contains("API server is unreachable"), "{text}");
    }

    #[test]
    fn only_a_failed_create_is_a_failure_to_create() {
        for verb in ["list", "watch", "delete", "patch", "get"] {
            let op = Op { verb, ..OP };
            let text = map(api(500, "etcdserver: request timed out"), op).to_string();
            assert!(!text.contains("failed to create"), "{verb}: {text}");
            assert!(text.contains(&format!("refused to {verb} jobs")), "{text}");
        }
        let text = map(api(500, "etcdserver: request timed out"), OP).to_string();
        assert!(text.starts_with("failed to create MCP server"), "{text}");
    }
}
