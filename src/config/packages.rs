//! The flags of `serve` that say where children's `uvx` and `npx` find their packages: a
//! package index and an npm registry (a cluster's mirror, with no internet beyond it), and
//! a package cache that Jobs share (a volume of the operator's).

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
    /// A package cache every child Job shares, `pvc:NAME`: a ReadWriteMany
    /// PersistentVolumeClaim in the children's namespace, mounted at the runtime image's
    /// uv and npm cache paths (Kubernetes backend; off by default). Every child can write
    /// it: use it only when the callers trust each other.
    #[arg(long, env = "MCP_EPHEMERAL_K8S_PACKAGE_CACHE", value_name = "pvc:NAME")]
    pub package_cache: Option<String>,
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

impl PackageArgs {
    /// The claim named by `--package-cache`, if given.
    ///
    /// # Errors
    /// Anything but `pvc:NAME` with NAME a valid claim name (a DNS-1123 subdomain).
    pub fn cache_claim(&self) -> Result<Option<String>, Error> {
        let Some(value) = &self.package_cache else {
            return Ok(None);
        };
        let flag = "--package-cache";
        let name = value.strip_prefix("pvc:").ok_or_else(|| {
            invalid(
                flag,
                value,
                "must be pvc:NAME, NAME a PersistentVolumeClaim",
            )
        })?;
        let label_ok = |label: &str| {
            let edge =
                |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            edge(label.chars().next())
                && edge(label.chars().last())
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            return Err(invalid(
                flag,
                value,
                "the claim name must be lowercase letters, digits, '-' and '.', start and \
                 end with a letter or digit, at most 253 characters",
            ));
        }
        Ok(Some(name.to_owned()))
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
            package_cache: None,
        }
    }

    fn cache(value: &str) -> Result<Option<String>, Error> {
        let args = PackageArgs {
            package_cache: Some(value.to_owned()),
            ..PackageArgs::default()
        };
        args.cache_claim()
    }

    #[test]
    fn a_package_cache_is_a_claim_named_as_kubernetes_names_them() {
        assert_eq!(
            cache("pvc:mcp-package-cache").unwrap().as_deref(),
            Some("mcp-package-cache")
        );
        assert_eq!(cache("pvc:cache.v2").unwrap().as_deref(), Some("cache.v2"));
        assert_eq!(PackageArgs::default().cache_claim().unwrap(), None);
        for bad in [
            "mcp-package-cache",
            "pvc:",
            "pvc:Cache",
            "pvc:-x",
            "pvc:x-",
            "pvc:a/b",
            "pvc:a..b",
            "hostPath:/var",
        ] {
            let error = cache(bad).unwrap_err().to_string();
            assert!(error.contains("--package-cache"), "{bad}: {error}");
        }
        assert!(cache(&format!("pvc:{}", "a".repeat(254))).is_err());
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
