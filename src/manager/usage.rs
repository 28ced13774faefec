//! [`Usage`]: which children exist, who created them and when they were last used, for
//! the limits on running children and for reaping idle or too old ones.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{
    error::{Error, Result},
    policy::Limits,
};

/// One child's record.
#[derive(Debug, Clone)]
struct Entry {
    /// The client session that created it (`None`: the library, or adopted).
    session: Option<u64>,
    /// The principal that owns it (`None`: made through the library).
    owner: Option<String>,
    created: Instant,
    last_used: Instant,
    /// When the phases of its start were reached (empty for adopted children).
    timings: Option<std::sync::Arc<crate::backend::Timings>>,
}

/// Why a child is reaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expiry {
    /// Not used for the idle TTL.
    Idle,
    /// Older than the maximum lifetime.
    TooOld,
}

impl std::fmt::Display for Expiry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Idle => "unused for longer than --idle-ttl",
            Self::TooOld => "older than --max-lifetime",
        })
    }
}

/// The children counted against the limits: those running and those being started. A
/// std mutex, never held across an await.
#[derive(Debug, Default)]
pub struct Usage {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Usage {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        crate::sync::lock(&self.entries)
    }

    /// Counts a child about to be started, or refuses when that would pass a limit (in
    /// one step, so concurrent creations cannot overshoot).
    ///
    /// # Errors
    /// [`Error::LimitReached`] saying which limit and what to do.
    pub fn admit(
        &self,
        job_name: &str,
        session: Option<u64>,
        owner: Option<&str>,
        limits: &Limits,
    ) -> Result<()> {
        let mut entries = self.lock();
        if let Some(max) = limits.max_servers
            && entries.len() >= max
        {
            return Err(Error::LimitReached(format!(
                "{} servers are running, the most this daemon allows (--max-servers {max}); \
                 delete one (delete_mcp_server) first",
                entries.len()
            )));
        }
        if let (Some(max), Some(session)) = (limits.max_servers_per_session, session) {
            let mine = entries
                .values()
                .filter(|e| e.session == Some(session))
                .count();
            if mine >= max {
                return Err(Error::LimitReached(format!(
                    "this session runs {mine} servers, the most one session may \
                     (--max-servers-per-session {max}); delete one (delete_mcp_server) first"
                )));
            }
        }
        if let (Some(max), Some(owner)) = (limits.max_servers_per_principal, owner) {
            let theirs = entries
                .values()
                .filter(|e| e.owner.as_deref() == Some(owner))
                .count();
            if theirs >= max {
                return Err(Error::LimitReached(format!(
                    "you run {theirs} servers, the most one principal may \
                     (--max-servers-per-principal {max}); delete one (delete_mcp_server) first"
                )));
            }
        }
        let now = Instant::now();
        let entry = Entry {
            session,
            owner: owner.map(str::to_owned),
            created: now,
            last_used: now,
            timings: None,
        };
        entries.insert(job_name.to_owned(), entry);
        Ok(())
    }

    /// Counts a child of `owner` taken over from a previous daemon, created `age` ago.
    pub fn adopt(&self, job_name: &str, owner: Option<&str>, age: Duration) {
        let now = Instant::now();
        let entry = Entry {
            session: None,
            owner: owner.map(str::to_owned),
            created: now.checked_sub(age).unwrap_or(now),
            last_used: now,
            timings: None,
        };
        self.lock().insert(job_name.to_owned(), entry);
    }

    /// How many children are counted (started and starting).
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Stops counting a child (deleted, or its start failed).
    pub fn forget(&self, job_name: &str) {
        self.lock().remove(job_name);
    }

    /// Keeps the phases of `job_name`'s start, for its status.
    pub fn record_timings(&self, job_name: &str, timings: std::sync::Arc<crate::backend::Timings>) {
        if let Some(entry) = self.lock().get_mut(job_name) {
            entry.timings = Some(timings);
        }
    }

    /// The phases of `job_name`'s start reached so far.
    pub fn timings(&self, job_name: &str) -> Vec<crate::model::Timing> {
        let timings = self.lock().get(job_name).and_then(|e| e.timings.clone());
        timings.map(|t| t.reached()).unwrap_or_default()
    }

    /// Records that a child was used now.
    pub fn touch(&self, job_name: &str) {
        if let Some(entry) = self.lock().get_mut(job_name) {
            entry.last_used = Instant::now();
        }
    }

    /// The children past a limit at `now`; `mount_use` gives when a child was last called
    /// through its mount.
    pub fn expired(
        &self,
        limits: &Limits,
        now: Instant,
        mount_use: impl Fn(&str) -> Option<Instant>,
    ) -> Vec<(String, Expiry)> {
        let entries = self.lock();
        let mut expired = Vec::new();
        for (name, entry) in entries.iter() {
            let last_used = mount_use(name).map_or(entry.last_used, |t| t.max(entry.last_used));
            let older = |limit: Option<Duration>, since: Instant| {
                limit.is_some_and(|limit| now.saturating_duration_since(since) >= limit)
            };
            if older(limits.max_lifetime, entry.created) {
                expired.push((name.clone(), Expiry::TooOld));
            } else if older(limits.idle_ttl, last_used) {
                expired.push((name.clone(), Expiry::Idle));
            }
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_running_children_globally_and_per_session() {
        let usage = Usage::default();
        let limits = Limits {
            max_servers: Some(3),
            max_servers_per_session: Some(2),
            ..Limits::default()
        };
        usage.admit("a", Some(1), None, &limits).unwrap();
        usage.admit("b", Some(1), None, &limits).unwrap();
        let error = usage
            .admit("c", Some(1), None, &limits)
            .unwrap_err()
            .to_string();
        assert!(error.contains("--max-servers-per-session 2"), "{error}");
        usage.admit("c", Some(2), None, &limits).unwrap();
        let error = usage
            .admit("d", Some(3), None, &limits)
            .unwrap_err()
            .to_string();
        assert!(error.contains("--max-servers 3"), "{error}");
        usage.forget("a");
        usage.admit("d", Some(3), None, &limits).unwrap();
    }

    #[test]
    fn one_principal_cannot_take_every_slot() {
        let usage = Usage::default();
        let limits = Limits {
            max_servers: Some(3),
            max_servers_per_principal: Some(2),
            ..Limits::default()
        };
        usage.admit("a", Some(1), Some("alice"), &limits).unwrap();
        usage.admit("b", Some(2), Some("alice"), &limits).unwrap();
        let error = usage
            .admit("c", Some(3), Some("alice"), &limits)
            .unwrap_err();
        assert!(
            error.to_string().contains("--max-servers-per-principal 2"),
            "{error}"
        );
        usage.admit("c", Some(4), Some("bob"), &limits).unwrap();
    }

    #[test]
    fn idle_and_old_children_expire() {
        let usage = Usage::default();
        let limits = Limits {
            idle_ttl: Some(Duration::from_secs(10)),
            max_lifetime: Some(Duration::from_secs(100)),
            ..Limits::default()
        };
        usage.admit("fresh", None, None, &limits).unwrap();
        usage.adopt("old", None, Duration::from_secs(200));
        let later = Instant::now() + Duration::from_secs(11);
        let mut expired = usage.expired(&limits, later, |_| None);
        expired.sort();
        assert_eq!(
            expired,
            [
                ("fresh".into(), Expiry::Idle),
                ("old".into(), Expiry::TooOld)
            ]
        );
        let used_via_mount =
            usage.expired(&limits, later, |name| (name == "fresh").then_some(later));
        assert_eq!(used_via_mount, [("old".into(), Expiry::TooOld)]);
    }
}
