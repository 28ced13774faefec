//! Servers from an MCP Registry: entries in the official `server.json` format, from a
//! registry speaking its API (`--registry-url`: `GET /v0.1/servers`,
//! `GET /v0.1/servers/{name}/versions/{version}`) or from a directory of `server.json`
//! files (`--registry-dir`). [`resolve`] turns an entry into a configuration to run or a
//! remote to mount; [`server_json`] is the format.

pub mod resolve;
pub mod server_json;

#[cfg(test)]
mod tests;

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

pub use server_json::ServerDetail;

/// How long a registry may take to answer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The largest answer read from a registry, and the largest `server.json` file.
const MAX_BYTES: usize = 4 << 20;

/// The most requests one search makes of a registry's API (one per word).
const MAX_SEARCHES: usize = 4;

/// The most files a registry directory may hold.
const MAX_FILES: usize = 10_000;

/// Why an entry could not be found or used; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such server (or version) in the registry.
    #[error("the registry has no server {name:?}{}; search_registry finds names", version.as_deref().map(|v| format!(" at version {v:?}")).unwrap_or_default())]
    NotFound {
        /// The name asked for.
        name: String,
        /// The version asked for.
        version: Option<String>,
    },
    /// The registry did not answer as its API says.
    #[error("the registry cannot be read: {0}")]
    Unavailable(String),
    /// Nothing of the entry can run here.
    #[error("{name} cannot run here: {}", why.join("; "))]
    NotRunnable {
        /// The entry.
        name: String,
        /// Why, for each package and remote.
        why: Vec<String>,
    },
    /// Values the entry needs were not given.
    #[error("{name} needs values for: {}; give them in env (environment variables) or inputs (arguments and {{variables}})", missing.join(", "))]
    Missing {
        /// The entry.
        name: String,
        /// What is missing, with its description.
        missing: Vec<String>,
    },
    /// A secret was given as a value.
    #[error("{0}")]
    SecretInClear(String),
    /// A value is not one of those the entry allows.
    #[error("{name} must be one of {choices:?}, not {value:?}")]
    NotAChoice {
        /// The input.
        name: String,
        /// The value given.
        value: String,
        /// Those allowed.
        choices: Vec<String>,
    },
    /// The request or the entry is malformed.
    #[error("{0}")]
    Invalid(String),
}

/// Where entries come from.
#[derive(Debug, Clone)]
enum Source {
    /// A registry's API at this base URL.
    Api {
        base: reqwest::Url,
        client: reqwest::Client,
    },
    /// `*.json` files in a directory, each one entry.
    Dir(PathBuf),
}

/// An MCP Registry the operator configured.
#[derive(Debug, Clone)]
pub struct Registry {
    source: Source,
}

impl Registry {
    /// The registry whose API is at `url` (e.g. `https://registry.modelcontextprotocol.io`).
    ///
    /// # Errors
    /// [`Error::Invalid`] for anything but an `http(s)` URL without credentials.
    pub fn api(url: &str) -> Result<Self, Error> {
        let base = reqwest::Url::parse(url)
            .map_err(|e| Error::Invalid(format!("{url:?} is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https")
            || base.host_str().is_none()
            || !base.username().is_empty()
            || base.password().is_some()
        {
            return Err(Error::Invalid(
                "the registry URL must be http(s)://host[/path], without credentials".to_owned(),
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(Self {
            source: Source::Api { base, client },
        })
    }

    /// The registry made of the `server.json` files in `dir`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `dir` is not a readable directory.
    pub fn dir(dir: &Path) -> Result<Self, Error> {
        std::fs::read_dir(dir).map_err(|e| Error::Invalid(format!("{}: {e}", dir.display())))?;
        Ok(Self {
            source: Source::Dir(dir.to_owned()),
        })
    }

    /// The entry `name` at `version` (the latest without one).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Unavailable`].
    pub async fn get(&self, name: &str, version: Option<&str>) -> Result<ServerDetail, Error> {
        check_name(name)?;
        if let Some(version) = version {
            check_version(version)?;
        }
        let not_found = || Error::NotFound {
            name: name.to_owned(),
            version: version.map(str::to_owned),
        };
        match &self.source {
            Source::Api { base, client } => {
                let mut url = base.clone();
                url.path_segments_mut()
                    .map_err(|()| Error::Invalid("the registry URL cannot take a path".to_owned()))?
                    .pop_if_empty()
                    .extend([
                        "v0.1",
                        "servers",
                        name,
                        "versions",
                        version.unwrap_or("latest"),
                    ]);
                let Some(bytes) = fetch(client, url).await? else {
                    return Err(not_found());
                };
                let answer: server_json::ServerResponse = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::Unavailable(format!("its answer is not a server: {e}")))?;
                let entry = answer.server;
                (entry.name == name && version.is_none_or(|v| v == entry.version))
                    .then_some(entry)
                    .ok_or_else(not_found)
            }
            Source::Dir(dir) => {
                let entries = read_dir(dir.clone()).await?;
                let named = entries.into_iter().filter(|e| e.name == name);
                let chosen = match version {
                    Some(version) => named.into_iter().find(|e| e.version == version),
                    None => named.max_by(|a, b| compare_versions(&a.version, &b.version)),
                };
                chosen.ok_or_else(not_found)
            }
        }
    }

    /// The latest entries matching `query` (every word in the name, title or
    /// description), at most `limit`.
    ///
    /// # Errors
    /// [`Error::Unavailable`].
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<ServerDetail>, Error> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        let matches = |e: &ServerDetail| {
            let text = format!(
                "{} {} {}",
                e.name,
                e.title.as_deref().unwrap_or_default(),
                e.description
            )
            .to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        };
        match &self.source {
            Source::Api { base, client } => {
                // The API searches names only (a substring): ask for each word (the first
                // few), and keep what has every word in its name, title or description.
                let mut found: Vec<ServerDetail> = Vec::new();
                let asked: Vec<&str> = if words.is_empty() {
                    vec![""]
                } else {
                    words
                        .iter()
                        .map(String::as_str)
                        .take(MAX_SEARCHES)
                        .collect()
                };
                for word in asked {
                    for entry in list_servers(client, base, word).await? {
                        if matches(&entry) && !found.iter().any(|e| e.name == entry.name) {
                            found.push(entry);
                        }
                    }
                }
                found.truncate(limit);
                Ok(found)
            }
            Source::Dir(dir) => {
                let mut latest: Vec<ServerDetail> = Vec::new();
                for entry in read_dir(dir.clone()).await?.into_iter().filter(matches) {
                    match latest.iter_mut().find(|e| e.name == entry.name) {
                        Some(known) if compare_versions(&entry.version, &known.version).is_gt() => {
                            *known = entry
                        }
                        Some(_) => {}
                        None => latest.push(entry),
                    }
                }
                latest.sort_by(|a, b| a.name.cmp(&b.name));
                latest.truncate(limit);
                Ok(latest)
            }
        }
    }
}

/// The latest entries whose names contain `search`, as the registry's API lists them
/// (its first page of 100).
async fn list_servers(
    client: &reqwest::Client,
    base: &reqwest::Url,
    search: &str,
) -> Result<Vec<ServerDetail>, Error> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| Error::Invalid("the registry URL cannot take a path".to_owned()))?
        .pop_if_empty()
        .extend(["v0.1", "servers"]);
    url.query_pairs_mut()
        .append_pair("search", search)
        .append_pair("version", "latest")
        .append_pair("limit", "100");
    let bytes = fetch(client, url)
        .await?
        .ok_or_else(|| Error::Unavailable("it has no /v0.1/servers".to_owned()))?;
    let list: server_json::ServerList = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Unavailable(format!("its answer is not a server list: {e}")))?;
    Ok(list.servers.into_iter().map(|r| r.server).collect())
}

/// Checks a server name: `namespace/name`, as the registry allows them.
fn check_name(name: &str) -> Result<(), Error> {
    let ok = (3..=200).contains(&name.len())
        && name.split_once('/').is_some_and(|(ns, rest)| {
            !ns.is_empty()
                && !rest.is_empty()
                && ns
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "registry name {:?} is not valid: namespace/name, e.g. io.github.owner/server",
            crate::model::cut(name, 100)
        )))
    }
}

/// Checks a version: an exact version as the registry writes them (`1.2.3`, `2.0.0-rc.1`),
/// never a path of its own.
fn check_version(version: &str) -> Result<(), Error> {
    let ok = (1..=255).contains(&version.len())
        && version != "."
        && version != ".."
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "version {:?} is not valid: an exact version, e.g. 1.2.3",
            crate::model::cut(version, 100)
        )))
    }
}

/// GETs `url`: its body (at most [`MAX_BYTES`]), `None` for 404.
async fn fetch(client: &reqwest::Client, url: reqwest::Url) -> Result<Option<Vec<u8>>, Error> {
    let unavailable = |e: reqwest::Error| Error::Unavailable(crate::model::with_causes(&e));
    let mut response = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(unavailable)?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !response.status().is_success() {
        return Err(Error::Unavailable(format!(
            "it answered {}",
            response.status()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
        if body.len() + chunk.len() > MAX_BYTES {
            return Err(Error::Unavailable(format!(
                "its answer is over {MAX_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// The entries of the `*.json` files in `dir` (a file holds a `server.json`, or a
/// registry answer `{"server": …}`); files that are neither are skipped with a warning.
async fn read_dir(dir: PathBuf) -> Result<Vec<ServerDetail>, Error> {
    let read = tokio::task::spawn_blocking(move || -> Result<Vec<ServerDetail>, Error> {
        let files = std::fs::read_dir(&dir)
            .map_err(|e| Error::Unavailable(format!("{}: {e}", dir.display())))?;
        let mut entries = Vec::new();
        for file in files.flatten().take(MAX_FILES) {
            let path = file.path();
            if path.extension().is_none_or(|e| e != "json")
                || file.metadata().is_ok_and(|m| m.len() > MAX_BYTES as u64)
            {
                continue;
            }
            let Ok(text) = std::fs::read(&path) else {
                continue;
            };
            let parsed = serde_json::from_slice::<ServerDetail>(&text).or_else(|_| {
                serde_json::from_slice::<server_json::ServerResponse>(&text).map(|r| r.server)
            });
            match parsed {
                Ok(entry) => entries.push(entry),
                Err(e) => {
                    tracing::warn!(file = %path.display(), cause = %e, "not a server.json; skipped")
                }
            }
        }
        Ok(entries)
    });
    read.await.map_err(|e| Error::Unavailable(e.to_string()))?
}

/// Orders versions by their numeric parts (`1.10.0` after `1.9.2`), then as text.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<u64> {
        v.split(['.', '-', '+'])
            .map_while(|p| p.parse().ok())
            .collect()
    };
    parts(a).cmp(&parts(b)).then_with(|| a.cmp(b))
}
