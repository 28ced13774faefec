//! What `runtime_mcp` may be: a registry package name with an optional version, never a
//! path, URL, git repository, archive, `file:` or `npm:` alias spec, each of which would let
//! a caller run code that no registry serves (and that no `--allow-package` pattern sees).

use super::ConfigError;

/// The longest package spec accepted (npm's limit on names is 214).
const MAX_SPEC_LEN: usize = 214;

/// Endings npm and uv read as a local archive rather than a registry name.
const ARCHIVE_SUFFIXES: [&str; 5] = [".tgz", ".tar", ".tar.gz", ".whl", ".zip"];

/// A package spec split into its registry name and optional version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageSpec<'a> {
    /// The registry name: `mcp-server-time`, `@modelcontextprotocol/server-everything`,
    /// `mcp-server-git[extra]` (Python extras belong to the name).
    pub name: &'a str,
    /// What follows `@` or `==`: `1.2.3`, `^1`, `latest`.
    pub version: Option<&'a str>,
}

impl<'a> PackageSpec<'a> {
    /// Parses `spec` as `name`, `name@version`, `name==version` or `@scope/name@version`.
    ///
    /// # Errors
    /// [`ConfigError::Runtime`] naming what is wrong and what to give instead.
    pub fn parse(spec: &'a str) -> Result<Self, ConfigError> {
        let refuse = |why: &str| {
            ConfigError::Runtime(format!(
                "runtime_mcp={spec:?} {why}; give a registry package name with an optional \
                 version (mcp-server-time, mcp-server-time@1.2.3, @scope/name@^1)"
            ))
        };
        if spec.len() > MAX_SPEC_LEN {
            return Err(refuse(&format!("is longer than {MAX_SPEC_LEN} bytes")));
        }
        let lower = spec.to_ascii_lowercase();
        if ARCHIVE_SUFFIXES.iter().any(|s| lower.ends_with(s)) {
            return Err(refuse("names a local archive"));
        }
        if spec.contains(':') || spec.contains('\\') {
            return Err(refuse("is a URL, path or alias spec, not a package name"));
        }
        let (scope, rest) = match spec.strip_prefix('@') {
            Some(scoped) => {
                let (scope, rest) = scoped
                    .split_once('/')
                    .ok_or_else(|| refuse("has a scope but no name after a `/`"))?;
                (Some(scope), rest)
            }
            None => (None, spec),
        };
        let offset = spec.len() - rest.len();
        let split = [("==", rest.find("==")), ("@", rest.find('@'))]
            .into_iter()
            .find_map(|(separator, at)| at.map(|at| (at, separator.len())));
        let (bare, version, name) = match split {
            Some((at, len)) => (&rest[..at], Some(&rest[at + len..]), &spec[..offset + at]),
            None => (rest, None, spec),
        };
        if scope.is_some_and(|s| !is_name(s)) || !is_name(strip_extras(bare)) {
            return Err(refuse(
                "is not a package name (letters, digits, `-`, `_` and `.`, not starting with \
                 `.` or `-`; a `/` only after an @scope)",
            ));
        }
        if let Some(version) = version
            && (version.is_empty() || !version.chars().all(is_version_char))
        {
            return Err(refuse("has a version that is not a version or range"));
        }
        Ok(Self { name, version })
    }
}

/// `name[a,b]` without its extras, when they are well formed.
fn strip_extras(name: &str) -> &str {
    match name.split_once('[') {
        Some((bare, extras))
            if extras
                .strip_suffix(']')
                .is_some_and(|e| e.split(',').all(|extra| is_name(extra.trim()))) =>
        {
            bare
        }
        _ => name,
    }
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.contains("..")
}

fn is_version_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '.' | '-' | '+' | '^' | '~' | '*' | '<' | '>' | '=' | '|' | '!'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_versions_parse() {
        let cases = [
            ("mcp-server-time", "mcp-server-time", None),
            ("mcp-server-time@1.2.3", "mcp-server-time", Some("1.2.3")),
            ("mcp-server-time==1.2.3", "mcp-server-time", Some("1.2.3")),
            ("mcp-server-git[extra]", "mcp-server-git[extra]", None),
            ("zope.interface", "zope.interface", None),
            (
                "@modelcontextprotocol/server-everything",
                "@modelcontextprotocol/server-everything",
                None,
            ),
            ("@scope/name@^1", "@scope/name", Some("^1")),
            ("@scope/name@latest", "@scope/name", Some("latest")),
        ];
        for (spec, name, version) in cases {
            assert_eq!(
                PackageSpec::parse(spec).unwrap(),
                PackageSpec { name, version },
                "{spec}"
            );
        }
    }

    #[test]
    fn paths_urls_git_archives_and_aliases_are_refused() {
        for spec in [
            "@modelcontextprotocol/x@file:/tmp/evilpkg",
            "mcp-server-evil@file:///tmp/evilpy",
            "file:/tmp/x",
            "/tmp/x",
            "./x",
            "../x",
            ".hidden",
            "-x",
            "user/repo",
            "github:user/repo",
            "git+https://example.com/x.git",
            "https://example.com/x.tgz",
            "x@npm:other",
            "alias@npm:@scope/x",
            "evil.tgz",
            "x@1.tgz",
            "pkg-1.0-py3-none-any.whl",
            "@scope",
            "@scope/",
            "@scope/a/b",
            "x@",
            "x@1/2",
            "x[a",
            "C:\\x",
            "a..b",
        ] {
            let error = PackageSpec::parse(spec).unwrap_err().to_string();
            assert!(error.contains("registry package name"), "{spec}: {error}");
        }
        assert!(PackageSpec::parse(&"a".repeat(215)).is_err());
    }
}
