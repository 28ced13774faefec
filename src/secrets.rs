//! Secret references in `env` values, so secrets never pass through the agent:
//! `${VAR}` takes the value of the daemon's own variable `VAR` (when `--allow-env-ref`
//! allows it), and on Kubernetes a whole value `${secret:NAME/KEY}` becomes a
//! `secretKeyRef` to key `KEY` of Secret `NAME` (when `--allow-secret` allows it).
//! `$${` stands for a literal `${`. Values are never shown back (see
//! [`crate::model::EphemeralMcpServerConfig::redacted`]).

use std::collections::BTreeMap;

use crate::{
    error::{Error, Result},
    model::{glob_match, is_env_name},
};

/// A reference to a key of a Kubernetes Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKeyRef {
    /// The Secret, in the children's namespace.
    pub name: String,
    /// The key within it.
    pub key: String,
}

/// The Secret reference a value is, when it is exactly `${secret:NAME/KEY}`.
pub fn secret_ref(value: &str) -> Option<SecretKeyRef> {
    let inner = value.strip_prefix("${secret:")?.strip_suffix('}')?;
    let (name, key) = inner.split_once('/')?;
    Some(SecretKeyRef {
        name: name.to_owned(),
        key: key.to_owned(),
    })
}

/// Which references callers may use; `None` allows any (the library default).
#[derive(Debug, Clone, Default)]
pub struct SecretPolicy {
    /// Patterns of the daemon's variables `${VAR}` may name.
    pub env_refs: Option<Vec<String>>,
    /// Patterns of the Secrets `${secret:NAME/KEY}` may name.
    pub secrets: Option<Vec<String>>,
}

impl SecretPolicy {
    /// Resolves the `${VAR}` references of `env` from `lookup` (the daemon's environment)
    /// and checks the Secret references, skipping the policy for values in `trusted`
    /// (those a preset set).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed or unset reference, [`Error::NotAllowed`]
    /// for one the policy refuses.
    pub fn resolve(
        &self,
        env: &mut BTreeMap<String, String>,
        trusted: &BTreeMap<String, String>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<()> {
        for (name, value) in env.iter_mut() {
            let checked = trusted.get(name) != Some(value);
            if let Some(secret) = secret_ref(value) {
                check_secret(name, &secret)?;
                if checked {
                    allowed(
                        &self.secrets,
                        &secret.name,
                        name,
                        "Secret",
                        "--allow-secret",
                    )?;
                }
                continue;
            }
            *value = self.interpolate(name, value, checked, &lookup)?;
        }
        Ok(())
    }

    fn interpolate(
        &self,
        name: &str,
        value: &str,
        checked: bool,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<String> {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix("$${") {
                out.push_str("${");
                rest = after;
            } else if let Some(after) = rest.strip_prefix("${") {
                let Some(end) = after.find('}') else {
                    return Err(Error::invalid(
                        "env",
                        format!(
                            "the value of {name} has a `${{` without its `}}`; write $${{ for a literal ${{"
                        ),
                    ));
                };
                let var = &after[..end];
                if !is_env_name(var) {
                    return Err(Error::invalid(
                        "env",
                        format!(
                            "the value of {name} references ${{{var}}}, which is not a variable name (secrets are ${{secret:NAME/KEY}}, the whole value)"
                        ),
                    ));
                }
                if checked {
                    allowed(&self.env_refs, var, name, "variable", "--allow-env-ref")?;
                }
                let resolved = lookup(var).ok_or_else(|| {
                    Error::invalid(
                        "env",
                        format!("the value of {name} references ${{{var}}}, which is not set in the daemon's environment; ask the operator to set it, or give the value"),
                    )
                })?;
                out.push_str(&resolved);
                rest = &after[end + 1..];
            } else {
                out.push('$');
                rest = &rest[1..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn check_secret(name: &str, secret: &SecretKeyRef) -> Result<()> {
    let valid_name = !secret.name.is_empty()
        && secret.name.len() <= 253
        && secret
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let valid_key = !secret.key.is_empty()
        && secret
            .key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid_name && valid_key {
        return Ok(());
    }
    Err(Error::invalid(
        "env",
        format!(
            "the value of {name} is not a valid ${{secret:NAME/KEY}}: NAME is a Secret name \
             (lowercase letters, digits, - and .), KEY one of its keys"
        ),
    ))
}

fn allowed(
    patterns: &Option<Vec<String>>,
    what: &str,
    name: &str,
    kind: &str,
    flag: &str,
) -> Result<()> {
    match patterns {
        Some(patterns) if !patterns.iter().any(|p| glob_match(p, what)) => {
            Err(Error::NotAllowed(format!(
                "the value of {name} references {kind} {what:?}, which this daemon does not \
                 share with its children{}; the operator can allow it with {flag}",
                if patterns.is_empty() {
                    String::new()
                } else {
                    format!(" (allowed: {})", patterns.join(", "))
                }
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon_env(var: &str) -> Option<String> {
        (var == "MCP_SECRET_TOKEN").then(|| "s3cr3t".to_owned())
    }

    fn resolve(policy: &SecretPolicy, value: &str) -> Result<String> {
        let mut env = BTreeMap::from([("TOKEN".to_owned(), value.to_owned())]);
        policy.resolve(&mut env, &BTreeMap::new(), daemon_env)?;
        Ok(env.remove("TOKEN").unwrap())
    }

    #[test]
    fn variables_are_resolved_from_the_daemon_environment() {
        let policy = SecretPolicy {
            env_refs: Some(vec!["MCP_SECRET_*".into()]),
            secrets: Some(vec![]),
        };
        assert_eq!(resolve(&policy, "${MCP_SECRET_TOKEN}").unwrap(), "s3cr3t");
        assert_eq!(
            resolve(&policy, "Bearer ${MCP_SECRET_TOKEN}!").unwrap(),
            "Bearer s3cr3t!"
        );
        assert_eq!(
            resolve(&policy, "cost: $5, $${literal}").unwrap(),
            "cost: $5, ${literal}"
        );
        let missing = resolve(&policy, "${MCP_SECRET_NOPE}")
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("not set in the daemon's environment"),
            "{missing}"
        );
        let refused = resolve(&policy, "${HOME}").unwrap_err().to_string();
        assert!(refused.contains("--allow-env-ref"), "{refused}");
        let open = resolve(&policy, "${unclosed").unwrap_err().to_string();
        assert!(open.contains("without its `}`"), "{open}");
    }

    #[test]
    fn secret_references_are_checked_and_kept() {
        let policy = SecretPolicy {
            env_refs: None,
            secrets: Some(vec!["github-*".into()]),
        };
        let value = "${secret:github-token/token}";
        assert_eq!(resolve(&policy, value).unwrap(), value);
        assert_eq!(
            secret_ref(value),
            Some(SecretKeyRef {
                name: "github-token".into(),
                key: "token".into()
            })
        );
        let refused = resolve(&policy, "${secret:mcp-ephemeral-k8s-auth/token}").unwrap_err();
        assert!(refused.to_string().contains("--allow-secret"), "{refused}");
        let bad = resolve(&policy, "${secret:Bad_Name/k}")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("not a valid ${secret:NAME/KEY}"), "{bad}");
    }

    #[test]
    fn presets_are_trusted() {
        let policy = SecretPolicy {
            env_refs: Some(vec![]),
            secrets: Some(vec![]),
        };
        let preset = BTreeMap::from([("TOKEN".to_owned(), "${MCP_SECRET_TOKEN}".to_owned())]);
        let mut env = preset.clone();
        policy.resolve(&mut env, &preset, daemon_env).unwrap();
        assert_eq!(env["TOKEN"], "s3cr3t");
    }
}
