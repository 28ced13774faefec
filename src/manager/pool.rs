//! Warm pools: children of a preset kept started and ready (`--warm-pool NAME=N`, or `warm:
//! N` in the preset), so that a create of that preset which changes nothing of it is
//! answered at once. A member has had no client but the daemon's readiness wait and a
//! package cache of its own (whoever gets it cannot write a cache others run from); it is
//! handed out at most once, then counted, owned and listed like any child, and the pool
//! refills in the background. Members that die are replaced; all are deleted on close.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, Weak},
    time::{Duration, Instant},
};

use tokio::sync::Notify;

use super::{
    SessionManager,
    create::{CreateGuard, CreateOptions},
};
use crate::{
    backend::{ChildMeta, Progress},
    error::Result,
    model::{EphemeralMcpServer, EphemeralMcpServerConfig, Ownership, naming, unix_now},
    sync::lock,
};

/// How long a pool waits after a member failed to start before it tries again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// How often a pool checks that its members are still alive.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// One preset's pool.
pub(super) struct Pool {
    preset: String,
    /// The preset's configuration, which a create must not change to be served from here.
    config: EphemeralMcpServerConfig,
    target: usize,
    ready: Mutex<VecDeque<Member>>,
    /// Woken when a member is taken.
    taken: Notify,
}

/// A ready member of a pool.
#[derive(Clone)]
pub(super) struct Member {
    server: EphemeralMcpServer,
    /// When it was started (its age counts against a deadline once handed out).
    started: Instant,
}

/// The pools of a manager, by preset.
#[derive(Default)]
pub struct Pools(Vec<Arc<Pool>>);

impl Pools {
    /// Pools of `targets` (preset, members) over `presets`; unknown presets are skipped
    /// (the daemon refuses them before).
    pub fn new(targets: &[(String, usize)], presets: &crate::presets::Presets) -> Self {
        let pools = targets.iter().filter_map(|(name, target)| {
            let preset = presets.get(name)?;
            Some(Arc::new(Pool {
                preset: name.clone(),
                config: preset.config.clone(),
                target: *target,
                ready: Mutex::default(),
                taken: Notify::new(),
            }))
        });
        Self(pools.filter(|p| p.target > 0).collect())
    }

    fn get(&self, preset: &str) -> Option<&Arc<Pool>> {
        self.0.iter().find(|p| p.preset == preset)
    }
}

impl SessionManager {
    /// Fills the pools in the background until the manager closes.
    pub fn spawn_pools(self: &Arc<Self>) {
        for pool in &self.pools.0 {
            let manager = Arc::downgrade(self);
            let (pool, closing) = (pool.clone(), self.closing.clone());
            self.tasks.spawn(async move {
                tokio::select! {
                    () = keep_filled(manager, pool) => {}
                    () = closing.cancelled() => {}
                }
            });
        }
    }

    /// Every pool: its preset, members ready and wanted.
    pub fn pool_sizes(&self) -> Vec<(String, usize, usize)> {
        let pools = self.pools.0.iter();
        pools
            .map(|p| (p.preset.clone(), lock(&p.ready).len(), p.target))
            .collect()
    }

    /// The members ready and wanted of `preset`'s pool, if it has one.
    pub fn pool_size(&self, preset: &str) -> Option<(usize, usize)> {
        let pool = self.pools.get(preset)?;
        Some((lock(&pool.ready).len(), pool.target))
    }

    /// A member of `preset`'s pool for a create of `requested` (as asked, before secrets
    /// are resolved), when it changes nothing of the preset and a member is ready. Taken
    /// under the pool's lock: no member is handed out twice.
    pub(super) fn take_pooled(
        &self,
        preset: Option<&str>,
        requested: &EphemeralMcpServerConfig,
    ) -> Option<(Arc<Pool>, Member)> {
        let pool = self.pools.get(preset?)?;
        if *requested != pool.config {
            return None;
        }
        let member = lock(&pool.ready).pop_front()?;
        pool.taken.notify_one();
        Some((pool.clone(), member))
    }

    /// Puts back a member taken for a create that could not have it (a limit refused).
    fn put_back(pool: &Pool, member: Member) {
        lock(&pool.ready).push_front(member);
    }

    /// Gives `member` of `pool` to the caller of `options`: counted against its limits
    /// (back in the pool when one refuses), owned by it on the backend too, and listed
    /// from now on. `Ok(None)`: the backend could not hand it out, so it was deleted and
    /// the caller starts a fresh child instead.
    pub(super) async fn hand_out(
        &self,
        pool: &Pool,
        member: Member,
        options: &CreateOptions,
    ) -> Result<Option<EphemeralMcpServer>> {
        let job_name = member.server.job_name.clone();
        let owner = options.ownership.owner.as_deref();
        let limits = &self.settings.policy.limits;
        if let Err(error) = self.usage.admit(&job_name, options.session, owner, limits) {
            Self::put_back(pool, member);
            return Err(error);
        }
        // Deleted if the caller leaves before it is theirs: it may already be half theirs.
        let mut guard = CreateGuard::new(self, &job_name);
        let age = member.started.elapsed();
        let given = self.backend.hand_out(&job_name, &options.ownership, age);
        if let Err(error) = given.await {
            tracing::warn!(%job_name, cause = %error, "could not hand out a pool member; deleting it and starting a fresh child");
            return Ok(None);
        }
        guard.disarm();
        let server = EphemeralMcpServer {
            ownership: options.ownership.clone(),
            ..member.server
        };
        self.lock().insert(job_name.clone(), server.clone());
        options
            .progress
            .phase("ready", "ready (from the warm pool)");
        self.usage
            .record_timings(&job_name, options.progress.timings());
        tracing::info!(%job_name, "handed out from the warm pool");
        Ok(Some(server))
    }

    /// Puts `server`, a pool member a previous daemon left (started `age` ago), back in
    /// its preset's pool. False when no pool wants it — none for its preset now, a
    /// configuration that is no longer the preset's, or a full pool —: delete it then.
    pub(super) fn adopt_member(&self, server: EphemeralMcpServer, age: Duration) -> bool {
        let Some(pool) = server.preset.as_deref().and_then(|p| self.pools.get(p)) else {
            return false;
        };
        if server.config != pool.config.redacted() {
            return false;
        }
        let mut ready = lock(&pool.ready);
        if ready.len() >= pool.target {
            return false;
        }
        let started = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        ready.push_back(Member { server, started });
        true
    }

    /// Deletes every ready member (on close).
    pub(super) async fn drain_pools(&self) {
        for pool in &self.pools.0 {
            let members: Vec<_> = lock(&pool.ready).drain(..).collect();
            for Member { server, .. } in members {
                if let Err(e) = self.backend.delete(&server.job_name, false).await {
                    tracing::error!(job_name = %server.job_name, cause = %e, "could not delete a pool member");
                }
            }
        }
    }

    /// Starts one member of `pool` and waits until it is ready; deletes it on failure.
    async fn start_member(&self, pool: &Pool) -> Result<Member> {
        let started = Instant::now();
        // The preset's own references (`${VAR}`), resolved as for a create of it.
        let mut config = pool.config.clone();
        let daemon_env = |var: &str| std::env::var(var).ok();
        let secrets = &self.settings.policy.secrets;
        secrets.resolve(&mut config.env, &pool.config.env, daemon_env)?;
        let created = unix_now();
        let job_name = naming::generate(pool.config.name_source(), created);
        let timeout = self.settings.ready_timeout;
        let meta = ChildMeta {
            preset: Some(pool.preset.clone()),
            ownership: Ownership::default(),
            ready_timeout: Some(timeout),
            pool: true,
        };
        let progress = Progress::default();
        let endpoints = self
            .backend
            .create(&job_name, &config, &meta, &progress)
            .await?;
        // Deletes it if this is dropped (the manager closes) before it is in the pool.
        let mut unfinished = Unfinished(Some((self.backend.clone(), job_name.clone())));
        let ready = self.backend.wait_ready(&job_name, timeout, &progress).await;
        unfinished.0 = None;
        if let Err(error) = ready {
            let _ = self.backend.delete(&job_name, false).await;
            return Err(error);
        }
        let record = super::create::Record {
            job_name: &job_name,
            config: &pool.config,
            endpoints,
            preset: Some(pool.preset.clone()),
            ownership: Ownership::default(),
            created,
        };
        let server = self.record(record);
        Ok(Member { server, started })
    }

    /// Whether `member` still runs and answers.
    async fn alive(&self, member: &Member) -> bool {
        self.backend.alive(&member.server.job_name).await
    }
}

/// A member being started; deleted in the background if dropped before it is ready.
struct Unfinished(Option<(Arc<dyn crate::backend::Backend>, String)>);

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some((backend, job_name)) = self.0.take() {
            tokio::spawn(async move {
                let _ = backend.delete(&job_name, false).await;
            });
        }
    }
}

/// Keeps `pool` at its target: starts members one at a time, replaces the dead ones.
async fn keep_filled(manager: Weak<SessionManager>, pool: Arc<Pool>) {
    loop {
        let Some(manager) = manager.upgrade() else {
            return;
        };
        // Members that died are deleted and replaced.
        let members: Vec<_> = lock(&pool.ready).iter().cloned().collect();
        for member in members {
            if !manager.alive(&member).await {
                let job_name = &member.server.job_name;
                lock(&pool.ready).retain(|m| m.server.job_name != *job_name);
                tracing::warn!(%job_name, preset = %pool.preset, "a pool member died; replacing it");
                let _ = manager.backend.delete(job_name, false).await;
            }
        }
        if lock(&pool.ready).len() < pool.target {
            match manager.start_member(&pool).await {
                Ok(member) => {
                    tracing::info!(job_name = %member.server.job_name, preset = %pool.preset, "pool member ready");
                    lock(&pool.ready).push_back(member);
                }
                Err(error) => {
                    tracing::warn!(preset = %pool.preset, cause = %error, "a pool member did not start");
                    drop(manager);
                    tokio::time::sleep(RETRY_AFTER).await;
                }
            }
            continue;
        }
        drop(manager);
        tokio::select! {
            () = pool.taken.notified() => {}
            () = tokio::time::sleep(CHECK_EVERY) => {}
        }
    }
}
