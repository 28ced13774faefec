//! Process-group helpers for the children this crate starts (Unix only).
//!
//! Every child runs in its own process group, so that stopping it reaches everything it
//! started (`uvx` starts Python, `npx` starts `sh` and `node`). A child also gets a
//! parent-death signal, so that it is told to stop even when its parent is killed with
//! SIGKILL and cannot clean up.

use std::{io, time::Duration};

use tokio::process::{Child, Command};

/// How long a process group gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// Puts the command's process in a new process group of its own and asks the kernel to
/// send it `signal` when its parent dies. The process must be spawned from a thread that
/// lives as long as the parent (a runtime worker or the main thread): Linux sends the
/// parent-death signal when the spawning *thread* exits.
pub fn isolate(command: &mut Command, signal: libc::c_int) {
    command.process_group(0);
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and only calls async-signal-safe
    // functions (prctl, getppid, _exit).
    unsafe {
        command.pre_exec(move || {
            #[cfg(target_os = "linux")]
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Makes this process non-dumpable: processes of the same user (the children) can then
/// neither attach to it nor read its memory or `/proc/<pid>/environ` (where its tokens
/// are). Returns whether the kernel agreed.
pub fn forbid_inspection() -> bool {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_DUMPABLE takes plain integers and has no memory effects.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    }
    #[cfg(not(target_os = "linux"))]
    false
}

/// Largest allocation glibc serves from its heap; larger ones get pages of their own.
const MMAP_THRESHOLD: i32 = 256 * 1024;

/// Makes memory that a flood made this process allocate go back to the system once freed.
/// glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), so
/// after one 16 MiB message, buffers of that size come from the heap and stay resident;
/// a fixed threshold keeps every large buffer in pages of its own, unmapped when freed.
/// Messages are small on the hot path, so this costs nothing there. Returns whether the
/// allocator took the setting (always false off glibc).
pub fn give_back_large_buffers() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's parameters; called before other threads.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

/// Sends `signal` to every process in group `pgid`. A group that no longer exists is fine.
///
/// # Errors
/// The OS error for anything but "no such process".
pub fn signal_group(pgid: u32, signal: libc::c_int) -> io::Result<()> {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return Ok(());
    };
    if pgid <= 1 {
        return Ok(());
    }
    // SAFETY: killpg has no memory-safety preconditions.
    if unsafe { libc::killpg(pgid, signal) } == -1 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            return Err(err);
        }
    }
    Ok(())
}

/// Whether any process of group `pgid` is still alive (zombies, which only wait to be
/// reaped, do not count).
pub fn group_alive(pgid: u32) -> bool {
    !group_members(pgid).is_empty()
}

/// The live (not zombie) processes of group `pgid`, read from `/proc`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // "pid (comm) state ppid pgrp …"; comm may contain spaces and parentheses.
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let mut fields = rest.split_whitespace();
            let state = fields.next();
            let group = fields.nth(1).and_then(|g| g.parse::<u32>().ok());
            group == Some(pgid) && state != Some("Z") && state != Some("X")
        })
        .collect()
}

/// Stops a child and its whole process group: SIGTERM, then SIGKILL after `grace`.
/// Returns the child's exit status once it has been reaped.
///
/// # Errors
/// When the child cannot be signalled or waited for.
pub async fn stop_group(
    child: &mut Child,
    grace: Duration,
) -> io::Result<std::process::ExitStatus> {
    if let Some(status) = child.try_wait()? {
        // The leader is gone but members of its group may remain.
        if let Some(pid) = child.id() {
            signal_group(pid, libc::SIGKILL)?;
        }
        return Ok(status);
    }
    let Some(pgid) = child.id() else {
        return child.wait().await;
    };
    signal_group(pgid, libc::SIGTERM)?;
    let status = match tokio::time::timeout(grace, child.wait()).await {
        Ok(status) => status?,
        Err(_) => {
            tracing::warn!(pgid, ?grace, "process group ignored SIGTERM; killing it");
            signal_group(pgid, libc::SIGKILL)?;
            child.wait().await?
        }
    };
    // Stragglers that outlived the leader (e.g. a grandchild that ignores SIGTERM).
    if group_alive(pgid) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        signal_group(pgid, libc::SIGKILL)?;
    }
    Ok(status)
}

/// The conventional exit code for a status: the code, or 128 + the signal number.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stopping_a_group_reaches_grandchildren() {
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 60 & sleep 60 & wait"]);
        isolate(&mut command, libc::SIGKILL);
        let mut child = command.spawn().unwrap();
        let pgid = child.id().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(group_alive(pgid));
        stop_group(&mut child, STOP_GRACE).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!group_alive(pgid), "a grandchild survived");
    }

    #[tokio::test]
    async fn a_group_that_ignores_sigterm_is_killed_after_the_grace() {
        let mut command = Command::new("sh");
        command.args(["-c", "trap '' TERM; sleep 60"]);
        isolate(&mut command, libc::SIGKILL);
        let mut child = command.spawn().unwrap();
        let pgid = child.id().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let status = stop_group(&mut child, Duration::from_millis(200))
            .await
            .unwrap();
        assert_eq!(exit_code(status), 128 + libc::SIGKILL);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!group_alive(pgid));
    }
}
