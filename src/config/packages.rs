//! The flags of `serve` that say where children's `uvx` and `npx` find their packages: a
//! package index and an npm registry (a cluster's mirror, with no internet beyond it).

use clap::Args;

use super::{Error, invalid};

/// Where children get their packages from.
#[derive(Debug, Clone, Default, Args)]
pub struct PackageArgs {
    /// The Python package index `uvx` children install from (a mirror of PyPI), e.g.
    /// `https://pypi.mirror.internal/simple`.
    #[arg(long, env = "MCP_EPHEMERAL_K8S_PIP_INDEX_URL")]
    pub pip_index_url: Option<String>,
    /// The npm registry `npx` children install from (a mirror of npmjs), e.g.
    /// `https://npm.mirror.internal/`.
    #[arg(long, env = "MCP_EPHEMERAL_K8S_NPM_REGISTRY")]
    pub npm_registry: Option<String>,
}

impl PackageArgs {
    /// The variables that point every child's `uvx` (and pip) and `npx` at them.
    ///
    /// # Errors
    /// A URL that is not `http(s)://host/…`, or that carries credentials (they would be
    /// in every child's environment and, on Kubernetes, in its Job's spec).
    pub fn env(&self) -> Result<Vec<(String, String)>, Error> {
        let mut env = Vec::new();
        if let Some(url) = &self.pip_index_url {
            let url = checked("--pip-index-url", url)?;
            for name in ["UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"] {
                env.push((name.to_owned(), url.clone()));
            }
        }
        if let Some(url) = &self.npm_registry {
            env.push((
                "npm_config_registry".to_owned(),
                checked("--npm-registry", url)?,
            ));
        }
        Ok(env)
    }
}

/// `url` when it is an `http(s)` URL with a host and no credentials.
fn checked(flag: &'static str, url: &str) -> Result<String, Error> {
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(flag, url, e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid(
            flag,
            url,
            "must be an http:// or https:// URL with a host",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // Not echoed: the value holds a secret.
        return Err(invalid(
            flag,
            "<a URL with credentials>",
            "must not carry credentials: every child would see them; use a mirror that \
             needs none from where the children run",
        ));
    }
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pip: Option<&str>, npm: Option<&str>) -> PackageArgs {
        PackageArgs {
            pip_index_url: pip.map(str::to_owned),
            npm_registry: npm.map(str::to_owned),
        }
    }

    #[test]
    fn mirrors_become_the_variables_uv_pip_and_npm_read() {
        let env = args(
            Some("https://pypi.example/simple"),
            Some("http://npm.example:4873"),
        )
        .env()
        .unwrap();
        let names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "UV_DEFAULT_INDEX",
                "UV_INDEX_URL",
                "PIP_INDEX_URL",
                "npm_config_registry"
            ]
        );
        assert_eq!(env[0].1, "https://pypi.example/simple");
        assert_eq!(env[3].1, "http://npm.example:4873/");
        assert!(args(None, None).env().unwrap().is_empty());
    }

    #[test]
    fn anything_but_a_plain_http_url_is_refused_without_echoing_credentials() {
        for bad in [
            "not a url",
            "ftp://pypi.example/",
            "file:///srv/pypi",
            "https://",
        ] {
            let error = args(Some(bad), None).env().unwrap_err().to_string();
            assert!(error.contains("--pip-index-url"), "{error}");
        }
        let error = args(None, Some("https://user:s3cret@npm.example/"))
            .env()
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("credentials") && !error.contains("s3cret"),
            "{error}"
        );
    }
}
