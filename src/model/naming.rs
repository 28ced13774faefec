//! Child names: `<sanitised image or package name>-<unix secs>-<8 random [a-z0-9]>`.
//!
//! A name is both a Job name and a Service name, so it must be a DNS-1035 label:
//! ASCII lowercase letters, digits and `-`, at most 63 characters, starting with a letter
//! and ending with a letter or digit. The Python original let Unicode and leading digits
//! through; these rules do not.

use rand::Rng;

/// The longest a Kubernetes Service name (a DNS-1035 label) may be.
pub const MAX_NAME_LEN: usize = 63;

/// Length of the random part: 36^8 ≈ 2.8e12 names per second of creation time.
const RANDOM_LEN: usize = 8;

/// Used when the sanitised prefix would be empty or start with a non-letter.
const FALLBACK_PREFIX: &str = "mcp";

/// Turns arbitrary text (a package such as `@scope/pkg@1.2` or an image reference) into a
/// DNS-1035-safe prefix: lowercase ASCII alphanumerics, single dashes, starting with a
/// letter, no trailing dash.
pub fn sanitize_prefix(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.starts_with(|c: char| c.is_ascii_lowercase()) {
        trimmed.to_owned()
    } else if trimmed.is_empty() {
        FALLBACK_PREFIX.to_owned()
    } else {
        format!("{FALLBACK_PREFIX}-{trimmed}")
    }
}

/// The part of a package or image reference that names it: `@scope/pkg@1.2` gives
/// `pkg`, `docker.io/mcp/gitlab:latest` gives `gitlab`, `name@sha256:…` gives `name`.
pub fn short_name(reference: &str) -> &str {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let last = last.split(':').next().unwrap_or(last);
    let last = last.split('@').find(|s| !s.is_empty()).unwrap_or(last);
    // Python packages may carry a version specifier: `mcp-server-time==1.0`.
    last.split(['=', '<', '>', '~', '!', '['])
        .next()
        .unwrap_or(last)
}

/// Generates a fresh child name from a package or image reference.
pub fn generate(reference: &str, unix_secs: u64) -> String {
    let mut rng = rand::rng();
    let random: String = (0..RANDOM_LEN)
        .map(|_| {
            let n = rng.random_range(0..36u8);
            char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 })
        })
        .collect();
    compose(&sanitize_prefix(short_name(reference)), unix_secs, &random)
}

/// Joins the parts, shortening the prefix so the whole fits in [`MAX_NAME_LEN`].
fn compose(prefix: &str, unix_secs: u64, random: &str) -> String {
    let suffix = format!("-{unix_secs}-{random}");
    let room = MAX_NAME_LEN.saturating_sub(suffix.len());
    let prefix = prefix[..prefix.len().min(room)].trim_end_matches('-');
    format!("{prefix}{suffix}")
}

/// Whether `name` is a valid DNS-1123 label (what a namespace name must be): 1 to 63
/// lowercase letters, digits and `-`, starting and ending with a letter or digit.
pub fn is_dns1123_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Whether `name` is a valid DNS-1035 label (what a Service name must be): a DNS-1123
/// label that starts with a letter.
pub fn is_dns1035_label(name: &str) -> bool {
    is_dns1123_label(name) && name.starts_with(|c: char| c.is_ascii_lowercase())
}

/// Whether `value` is a valid Kubernetes label value (empty values aside): 1 to 63
/// letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit.
pub fn is_label_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_NAME_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_prefix_seconds_and_random_part() {
        let name = generate("mcp-server-time", 1_764_000_000);
        let parts: Vec<&str> = name.rsplitn(3, '-').collect();
        assert_eq!(parts[2], "mcp-server-time");
        assert_eq!(parts[1], "1764000000");
        assert_eq!(parts[0].len(), 8);
        assert!(is_dns1035_label(&name), "{name}");
    }

    #[test]
    fn scoped_npm_packages_use_the_package_name() {
        let name = generate("@modelcontextprotocol/server-everything", 1);
        assert!(name.starts_with("server-everything-1-"), "{name}");
    }

    #[test]
    fn image_references_use_the_image_name() {
        assert_eq!(short_name("docker.io/mcp/gitlab:latest"), "gitlab");
        assert_eq!(short_name("ghcr.io/x/y@sha256:abcd"), "y");
        assert_eq!(short_name("mcp-server-time==1.0"), "mcp-server-time");
        assert_eq!(short_name("pkg@1.2.3"), "pkg");
    }

    #[test]
    fn leading_digits_get_a_letter_prefix() {
        assert_eq!(sanitize_prefix("9lives"), "mcp-9lives");
        assert!(is_dns1035_label(&generate("123", 5)));
    }

    #[test]
    fn unicode_and_punctuation_become_single_dashes() {
        assert_eq!(sanitize_prefix("ümlaut"), "mlaut");
        assert_eq!(sanitize_prefix("Foo_Bar.baz"), "foo-bar-baz");
        assert_eq!(sanitize_prefix("--a--b--"), "a-b");
        assert_eq!(sanitize_prefix("日本語"), "mcp");
        assert_eq!(sanitize_prefix(""), "mcp");
        assert!(is_dns1035_label(&generate("ü_ñ/🙂", 7)));
    }

    #[test]
    fn long_prefixes_are_cut_to_63_characters_without_a_trailing_dash() {
        let name = generate(&"a-".repeat(100), u64::MAX);
        assert!(name.len() <= MAX_NAME_LEN, "{name}");
        assert!(is_dns1035_label(&name), "{name}");
        assert!(!name.contains("--"), "{name}");
    }

    #[test]
    fn generated_names_are_unique() {
        let a = generate("x", 1);
        let b = generate("x", 1);
        assert_ne!(a, b);
    }

    #[test]
    fn dns_label_check_rejects_bad_names() {
        for bad in ["", "1abc", "abc-", "Abc", "a_b", &"a".repeat(64)] {
            assert!(!is_dns1035_label(bad), "{bad}");
        }
        assert!(is_dns1035_label("a"));
    }
}
