//! How a mounted child's names appear on the meta-server: tools and prompts as
//! `<mount>_<name>`, resources as `scheme://<mount>/path` (the Python original's FastMCP
//! conventions), always within what every MCP client accepts.

/// Joins a mount's name and a child's tool or prompt name, as the Python original did.
pub const SEPARATOR: char = '_';

/// The longest tool name every client accepts (`^[a-zA-Z0-9_-]{1,64}$`).
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// The longest mount name: short enough that `<mount>_<tool>` leaves room for the tool.
pub const MAX_MOUNT_NAME_LEN: usize = 32;

/// Hex digits of the hash that makes a shortened name unique and stable.
const HASH_LEN: usize = 8;

/// Whether `name` is a tool name every client accepts.
pub fn is_portable(name: &str) -> bool {
    (1..=MAX_TOOL_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks a mount name.
///
/// # Errors
/// A sentence saying what a mount name may contain.
pub fn check_mount_name(name: &str) -> Result<(), String> {
    let ok = (1..=MAX_MOUNT_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "mount name {name:?} is not valid: use 1 to {MAX_MOUNT_NAME_LEN} letters, digits, _ or - (e.g. \"time\")"
        ))
    }
}

/// The name a child's tool or prompt `name` gets on the meta-server: `<mount>_<name>`, or
/// `name` for an unnamed mount. A result that is not portable (too long, or with other
/// characters) is rewritten to a portable one ending in a hash of the original, so it is the
/// same every time and distinct names stay distinct.
pub fn expose(mount: Option<&str>, name: &str) -> String {
    let joined = match mount {
        Some(mount) => format!("{mount}{SEPARATOR}{name}"),
        None => name.to_owned(),
    };
    if is_portable(&joined) {
        return joined;
    }
    let hash = format!("{:08x}", fnv1a(joined.as_bytes()) as u32);
    let keep = MAX_TOOL_NAME_LEN - HASH_LEN - 1;
    let mut cleaned: String = joined
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                SEPARATOR
            }
        })
        .take(keep)
        .collect();
    cleaned.push(SEPARATOR);
    cleaned.push_str(&hash);
    cleaned
}

/// The URI a child's resource `uri` gets on the meta-server: `scheme://<mount>/rest`
/// (`file:///tmp/x` becomes `file://<mount>//tmp/x`); a URI without a scheme becomes
/// `<mount>/uri`.
pub fn prefix_uri(mount: &str, uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{mount}/{rest}"),
        None => format!("{mount}/{uri}"),
    }
}

/// Splits a URI made by [`prefix_uri`] into the mount name and the child's URI.
pub fn split_uri(uri: &str) -> Option<(&str, String)> {
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            let (mount, rest) = rest.split_once('/')?;
            Some((mount, format!("{scheme}://{rest}")))
        }
        None => {
            let (mount, rest) = uri.split_once('/')?;
            Some((mount, rest.to_owned()))
        }
    }
}

/// FNV-1a, 64 bits: stable across runs and platforms, unlike `std`'s hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_prefixed_with_the_mount_name() {
        assert_eq!(
            expose(Some("time"), "get_current_time"),
            "time_get_current_time"
        );
        assert_eq!(expose(None, "echo"), "echo");
    }

    #[test]
    fn unportable_names_get_a_stable_hash_suffix() {
        let long = "a".repeat(80);
        let exposed = expose(Some("m"), &long);
        assert!(is_portable(&exposed), "{exposed}");
        assert_eq!(exposed.len(), MAX_TOOL_NAME_LEN);
        assert_eq!(exposed, expose(Some("m"), &long), "stable");
        assert_ne!(
            exposed,
            expose(Some("m"), &"a".repeat(81)),
            "distinct names stay distinct"
        );
        let dotted = expose(Some("fs"), "read.file");
        assert!(dotted.starts_with("fs_read_file_"), "{dotted}");
        assert!(is_portable(&dotted));
        assert_ne!(dotted, expose(Some("fs"), "read_file"));
        assert!(is_portable(&expose(None, "ünïcode tool")));
    }

    #[test]
    fn uris_get_the_mount_after_the_scheme_and_round_trip() {
        for (uri, exposed) in [
            ("test://greeting", "test://m/greeting"),
            ("file:///tmp/x", "file://m//tmp/x"),
            ("demo://resource/static/1", "demo://m/resource/static/1"),
            ("plain", "m/plain"),
        ] {
            assert_eq!(prefix_uri("m", uri), exposed);
            assert_eq!(split_uri(exposed), Some(("m", uri.to_owned())));
        }
        assert_eq!(prefix_uri("m", "test://items/{id}"), "test://m/items/{id}");
    }

    #[test]
    fn mount_names_are_checked() {
        assert!(check_mount_name("time").is_ok());
        assert!(check_mount_name("my-fs_2").is_ok());
        for bad in ["", "a b", "x/y", &"n".repeat(33)] {
            assert!(check_mount_name(bad).is_err(), "{bad:?}");
        }
    }
}
