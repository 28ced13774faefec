//! Where and how a local child runs: a cleared environment, a private home that is also
//! its working directory, its owner's package cache, and — with bubblewrap — its own view
//! of the filesystem (read-only system, private home and `/tmp`, every user's home and
//! the daemon's secret files hidden) and of processes (a PID namespace, so neither the
//! daemon nor other children can be read through `/proc`).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use super::bwrap;
use crate::{
    error::{Error, Result},
    model::glob_match,
};

/// Whether local children run in a bubblewrap sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SandboxMode {
    /// When `bwrap` is installed and works here; otherwise off, with a warning.
    #[default]
    Auto,
    /// Always; the daemon does not start without a working `bwrap`.
    On,
    /// Never (children still get a cleared environment and a home of their own).
    Off,
}

/// Daemon variables every child gets when they are set: the operator's certificate,
/// proxy and package-index settings (a TLS-intercepting proxy, a private mirror).
pub const PASSED_ENV: &[&str] = &[
    "LANG",
    "LC_ALL",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "UV_NATIVE_TLS",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "PIP_CERT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "npm_config_registry",
    "NPM_CONFIG_REGISTRY",
];

/// What the operator chose for local children.
#[derive(Debug, Clone, Default)]
pub struct LocalSettings {
    /// Whether to sandbox them.
    pub sandbox: SandboxMode,
    /// More daemon variables (patterns) to pass to every child, beyond [`PASSED_ENV`].
    pub pass_env: Vec<String>,
    /// Files children must not read (the tokens file, a TLS key).
    pub hidden: Vec<PathBuf>,
    /// Where packages come from (`--pip-index-url`, `--npm-registry`), over what the
    /// daemon's own variables say.
    pub package_env: Vec<(String, String)>,
}

/// Where children's homes and caches live, and the sandbox, prepared once per daemon.
#[derive(Debug)]
pub struct Sandbox {
    /// `bwrap`, when children are sandboxed.
    bwrap: Option<PathBuf>,
    /// The parent of every child's home (removed with the backend).
    homes: PathBuf,
    /// The parent of every owner's package cache (kept across runs).
    caches: PathBuf,
    /// The daemon variables every child gets.
    passed: BTreeMap<String, String>,
    /// Files and directories a sandboxed child must not see.
    hidden: Vec<PathBuf>,
}

/// One child's place: its home, environment and the command prefix that confines it.
#[derive(Debug)]
pub struct ChildPlace {
    /// Its home and working directory, removed when it is deleted.
    pub home: PathBuf,
    /// Its whole environment (nothing else of the daemon's reaches it).
    pub env: BTreeMap<String, String>,
    /// What goes before its command (`bwrap … --`), empty without the sandbox.
    pub wrap: Vec<String>,
}

impl Sandbox {
    /// Prepares the directories and checks that bubblewrap works (per `settings`).
    ///
    /// # Errors
    /// [`Error::ServerCreation`] when a directory cannot be made, or when the sandbox is
    /// required and `bwrap` is missing or cannot create namespaces here.
    pub fn prepare(settings: &LocalSettings) -> Result<Self> {
        let bwrap = match (settings.sandbox, bwrap::probe()) {
            (SandboxMode::Off, _) => None,
            (_, Ok(path)) => Some(path),
            (SandboxMode::On, Err(why)) => {
                return Err(Error::ServerCreation(format!(
                    "--sandbox on, but {why}; install bubblewrap (apt-get install bubblewrap) \
                     or pass --sandbox off"
                )));
            }
            (SandboxMode::Auto, Err(why)) => {
                tracing::warn!(
                    "local children run without a sandbox: {why} (install bubblewrap to \
                     confine them; --sandbox off silences this)"
                );
                None
            }
        };
        let homes = std::env::temp_dir().join(format!("mcp-ephemeral-k8s-{}", std::process::id()));
        private_dir(&homes)?;
        let caches = cache_root();
        private_dir(&caches)?;
        let mut passed: BTreeMap<String, String> = std::env::vars()
            .filter(|(name, _)| {
                PASSED_ENV.contains(&name.as_str())
                    || settings.pass_env.iter().any(|p| glob_match(p, name))
            })
            .collect();
        passed.extend(settings.package_env.iter().cloned());
        let mut hidden: Vec<PathBuf> = ["/root", "/home"].map(PathBuf::from).to_vec();
        hidden.extend(std::env::var_os("HOME").map(PathBuf::from));
        hidden.extend([homes.clone(), caches.clone()]);
        hidden.extend(settings.hidden.iter().filter_map(|p| p.canonicalize().ok()));
        // Never hide the root itself (a service user's HOME may be `/`).
        hidden.retain(|p| p.is_absolute() && p.parent().is_some());
        hidden.sort();
        hidden.dedup();
        Ok(Self {
            bwrap,
            homes,
            caches,
            passed,
            hidden,
        })
    }

    /// Whether children are sandboxed.
    pub fn is_on(&self) -> bool {
        self.bwrap.is_some()
    }

    /// Makes the home of child `job_name`, owned by `owner` (`None`: made through the
    /// library, without one) whose package cache it shares unless `private_cache` (then
    /// the cache is in its home, gone with it), that runs `exec`, and says
    /// how to start it with `env` (already checked and resolved).
    ///
    /// # Errors
    /// [`Error::ServerCreation`] when `exec` is not found or a directory cannot be made.
    pub fn place(
        &self,
        job_name: &str,
        owner: Option<&str>,
        private_cache: bool,
        exec: &str,
        env: &BTreeMap<String, String>,
    ) -> Result<ChildPlace> {
        let program = find_program(exec)?;
        let mut path_dirs = Vec::new();
        for program in [
            Some(program.clone()),
            is_npx(exec).then(|| find_program("node").ok()).flatten(),
        ]
        .into_iter()
        .flatten()
        {
            path_dirs.extend(program.parent().map(Path::to_path_buf));
            let real = program.canonicalize().ok();
            path_dirs.extend(
                real.as_deref()
                    .and_then(Path::parent)
                    .map(Path::to_path_buf),
            );
        }
        path_dirs.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from));
        let mut seen = std::collections::HashSet::new();
        path_dirs.retain(|dir| seen.insert(dir.clone()));
        // What the programs need besides their directories: npx runs npm from Node's own
        // prefix (`<prefix>/bin/node`, `<prefix>/lib/node_modules/npm`).
        let mut visible = path_dirs.clone();
        let node_prefix = is_npx(exec)
            .then(|| find_program("node").ok()?.canonicalize().ok())
            .flatten()
            .and_then(|node| Some(node.parent()?.parent()?.to_path_buf()));
        visible.extend(node_prefix);

        let home = self.homes.join(job_name);
        let cache = if private_cache {
            home.join(".cache")
        } else {
            self.caches.join(owner_dir(owner))
        };
        for dir in [&home, &home.join(".npm-global"), &home.join("tmp"), &cache] {
            private_dir(dir)?;
        }
        let text = |p: &Path| p.display().to_string();
        let mut child_env = self.passed.clone();
        let path = path_dirs
            .iter()
            .map(|d| text(d))
            .collect::<Vec<_>>()
            .join(":");
        child_env.extend([
            ("PATH".to_owned(), path),
            ("HOME".to_owned(), text(&home)),
            ("XDG_CONFIG_HOME".to_owned(), text(&home.join(".config"))),
            ("XDG_DATA_HOME".to_owned(), text(&home.join(".local/share"))),
            ("XDG_CACHE_HOME".to_owned(), text(&cache)),
            ("UV_CACHE_DIR".to_owned(), text(&cache.join("uv"))),
            (
                "UV_PYTHON_INSTALL_DIR".to_owned(),
                text(&cache.join("python")),
            ),
            ("npm_config_cache".to_owned(), text(&cache.join("npm"))),
            // An empty global prefix: npx then finds no global program of that name and
            // runs only what it installs.
            (
                "npm_config_prefix".to_owned(),
                text(&home.join(".npm-global")),
            ),
            ("npm_config_update_notifier".to_owned(), "false".to_owned()),
        ]);
        if !self.is_on() {
            child_env.insert("TMPDIR".to_owned(), text(&home.join("tmp")));
        }
        child_env
            .entry("LANG".to_owned())
            .or_insert_with(|| "C.UTF-8".to_owned());
        child_env.extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let wrap = match &self.bwrap {
            Some(bwrap) => bwrap::args(bwrap, &self.hidden, &home, &cache, &visible),
            None => Vec::new(),
        };
        Ok(ChildPlace {
            home,
            env: child_env,
            wrap,
        })
    }

    /// Removes a child's home.
    pub fn remove(&self, home: &Path) {
        if let Err(e) = std::fs::remove_dir_all(home)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(home = %home.display(), cause = %e, "cannot remove a child's home");
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.homes);
    }
}

/// `exec` as a path: itself when it names a file, else the first match on `PATH`.
pub(super) fn find_program(exec: &str) -> Result<PathBuf> {
    let not_found = || {
        Error::ServerCreation(format!(
            "cannot find {exec:?} on the daemon's PATH; install it (uvx comes with uv, npx with \
             Node.js) or put it on PATH"
        ))
    };
    if exec.contains('/') {
        let path = PathBuf::from(exec);
        return path.is_file().then_some(path).ok_or_else(not_found);
    }
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .map(|dir| dir.join(exec))
        .find(|candidate| candidate.is_file())
        .ok_or_else(not_found)
}

/// Whether `exec` is npm's `npx`.
fn is_npx(exec: &str) -> bool {
    Path::new(exec).file_name().is_some_and(|n| n == "npx")
}

/// Owners' caches: under `$XDG_CACHE_HOME` or `~/.cache`, kept so that a package is
/// downloaded once per owner.
fn cache_root() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("mcp-ephemeral-k8s").join("owners")
}

/// The directory of `owner`'s cache: its name when that is a safe file name, else a hash.
fn owner_dir(owner: Option<&str>) -> String {
    let Some(name) = owner else {
        return "unowned".to_owned();
    };
    let safe = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if safe {
        return name.to_owned();
    }
    // FNV-1a: stable across runs, which std's hasher is not promised to be.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("h{hash:016x}")
}

/// Creates `dir` (and its parents) readable by the daemon's user only, and checks that it
/// is the daemon's user's and writable by nobody else: under a shared `/tmp` another user
/// could have made it first, to read or poison what children put there.
fn private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| Error::io(format!("cannot inspect {}", dir.display()), e))?;
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o022 != 0 {
        return Err(Error::ServerCreation(format!(
            "{} is not a directory of the daemon's user writable by it alone; remove it (or \
             set XDG_CACHE_HOME / TMPDIR elsewhere) and retry",
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_someone_else_could_write_is_refused() {
        let dir = std::env::temp_dir().join(format!("sandbox-test-{}", std::process::id()));
        private_dir(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = private_dir(&dir).unwrap_err().to_string();
        assert!(error.contains("writable by it alone"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn owners_get_safe_directory_names() {
        assert_eq!(owner_dir(Some("alice")), "alice");
        assert_eq!(owner_dir(None), "unowned");
        let odd = owner_dir(Some("../../etc"));
        assert!(odd.starts_with('h') && !odd.contains('/'), "{odd}");
        assert_eq!(odd, owner_dir(Some("../../etc")), "stable across calls");
    }
}
