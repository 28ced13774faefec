//! The bubblewrap sandbox of a local child: whether `bwrap` works here, and the arguments
//! that give a child its own view of the filesystem and of processes.

use std::path::{Path, PathBuf};

/// `bwrap`'s path if it can make the namespaces a child needs here, or why not.
pub(super) fn probe() -> std::result::Result<PathBuf, String> {
    let bwrap =
        super::sandbox::find_program("bwrap").map_err(|_| "bwrap is not installed".to_owned())?;
    let output = std::process::Command::new(&bwrap)
        .args([
            "--die-with-parent",
            "--unshare-pid",
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
        ])
        .args(["--dev", "/dev", "--tmpfs", "/tmp", "--", "true"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("bwrap cannot be run: {e}"))?;
    if output.status.success() {
        Ok(bwrap)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!(
            "bwrap cannot create namespaces here ({})",
            stderr.trim()
        ))
    }
}

/// `bwrap … --`: what goes before a child's command to confine it. Its home and cache are
/// its own (read-write), `visible` (the directories of its programs and what they need) is
/// shown read-only, and `hidden` (every home, the daemon's files) is out of its view.
pub(super) fn args(
    bwrap: &Path,
    hidden: &[PathBuf],
    home: &Path,
    cache: &Path,
    visible: &[PathBuf],
) -> Vec<String> {
    let mut args: Vec<String> = [
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/var/tmp",
        "--tmpfs",
        "/run",
        "--ro-bind-try",
        "/run/systemd/resolve",
        "/run/systemd/resolve",
    ]
    .map(String::from)
    .to_vec();
    args.insert(0, bwrap.display().to_string());
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        args.extend(["--cap-drop", "ALL"].map(String::from));
    }
    let tmp = Path::new("/tmp");
    let under_hidden = |path: &Path| {
        path.starts_with(tmp) || hidden.iter().any(|h| h != path && path.starts_with(h))
    };
    for path in hidden {
        if under_hidden(path) || !path.exists() {
            continue;
        }
        let how = if path.is_dir() {
            "--tmpfs"
        } else {
            "--ro-bind"
        };
        args.push(how.to_owned());
        if !path.is_dir() {
            args.push("/dev/null".to_owned());
        }
        args.push(path.display().to_string());
    }
    for dir in visible
        .iter()
        .filter(|d| hidden.iter().any(|h| d.starts_with(h)) || d.starts_with(tmp))
    {
        args.extend([
            "--ro-bind-try".to_owned(),
            dir.display().to_string(),
            dir.display().to_string(),
        ]);
    }
    for dir in [home, cache] {
        args.extend([
            "--bind".to_owned(),
            dir.display().to_string(),
            dir.display().to_string(),
        ]);
    }
    args.extend([
        "--chdir".to_owned(),
        home.display().to_string(),
        "--".to_owned(),
    ]);
    args
}
