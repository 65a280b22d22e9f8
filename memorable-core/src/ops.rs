//! [`Ops`]: per-store operations state shared by every clone of a handle — the alert hub,
//! health probes — and the background operations thread, which every `alerts.interval_ms`
//! evaluates alert rules, takes scheduled backups and (with `Config::metrics_facade`)
//! publishes metrics to the `metrics` crate.
//!
//! The thread holds only a weak reference to the engine slot: dropping every handle (or
//! `close()`) ends it.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::alerts::AlertHub;
use crate::config::Config;
use crate::engine::EngineSlot;
use crate::health::Probes;
use crate::jobs::JobRunner;
use crate::maintenance::BackupSchedule;

pub(crate) struct Ops {
    pub alerts: AlertHub,
    pub probes: Probes,
    /// Background jobs this process runs (consolidation), with their cancel flags.
    pub jobs: Arc<JobRunner>,
    /// Training jobs of custom classifiers: the one-at-a-time lock and the worker.
    #[cfg(feature = "candle")]
    pub training: Arc<crate::classifiers::TrainingRuntime>,
    stopped: Mutex<bool>,
    wake: Condvar,
    tick: Option<Duration>,
    evaluate_alerts: bool,
    publish_metrics: bool,
    schedule: Option<BackupSchedule>,
}

impl Ops {
    pub fn new(config: &Config) -> Ops {
        let alerts_on = config.alerts.enabled && !config.alerts.rules.is_empty();
        let needed = alerts_on || config.backup.schedule.is_some() || config.metrics_facade;
        // The thread wakes as often as its most frequent duty needs: a backup schedule
        // shorter than the alert interval is kept too.
        let mut interval = Duration::from_millis(config.alerts.interval_ms.max(1));
        if let Some(s) = &config.backup.schedule {
            interval = interval.min(Duration::from_secs(s.every_secs.max(1)));
        }
        Ops {
            alerts: AlertHub::new(&config.alerts),
            probes: Probes::default(),
            jobs: Arc::new(JobRunner::default()),
            #[cfg(feature = "candle")]
            training: Arc::default(),
            stopped: Mutex::new(false),
            wake: Condvar::new(),
            tick: needed.then_some(interval),
            evaluate_alerts: alerts_on,
            publish_metrics: config.metrics_facade,
            schedule: config.backup.schedule.clone(),
        }
    }

    /// Ask the operations thread to stop (it exits at once if it is waiting).
    pub fn stop(&self) {
        *self.stopped.lock() = true;
        self.wake.notify_all();
        // A running training job checkpoints and goes back to the queue.
        #[cfg(feature = "candle")]
        self.training.stop();
    }

    /// Wait for the next tick; false once stopped.
    fn sleep(&self, d: Duration) -> bool {
        let mut stopped = self.stopped.lock();
        if !*stopped {
            self.wake.wait_for(&mut stopped, d);
        }
        !*stopped
    }
}

/// Start the operations thread of a freshly opened store, if anything needs it.
pub(crate) fn start(slot: &Arc<EngineSlot>, ops: &Arc<Ops>) {
    let Some(tick) = ops.tick else { return };
    let slot = Arc::downgrade(slot);
    let ops = ops.clone();
    let spawned =
        std::thread::Builder::new().name("memorable-ops".into()).spawn(move || run(slot, ops, tick));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the operations thread; alerts are evaluated only on demand");
    }
}

/// Start the sync thread of a shared (PostgreSQL) store: every `interval` it applies what
/// other instances changed (`Engine::sync_remote`).
#[cfg(feature = "postgres")]
pub(crate) fn start_sync(slot: &Arc<EngineSlot>, ops: &Arc<Ops>, interval: Duration) {
    let slot = Arc::downgrade(slot);
    let ops = ops.clone();
    let spawned = std::thread::Builder::new().name("memorable-sync".into()).spawn(move || {
        // Logged when it starts failing and when it recovers, not at every tick.
        let mut failing = false;
        while ops.sleep(interval) {
            let Some(slot) = slot.upgrade() else { return };
            let Some(engine) = slot.read().clone() else { return };
            match engine.sync_remote() {
                Ok(_) if failing => {
                    failing = false;
                    tracing::info!("reading other instances' changes works again");
                }
                Ok(_) => {}
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "cannot read other instances' changes; retrying");
                }
                Err(_) => {}
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the sync thread: other instances' writes reach recall only after a reopen");
    }
}

fn run(slot: Weak<EngineSlot>, ops: Arc<Ops>, tick: Duration) {
    let mut last_backup = Instant::now();
    while ops.sleep(tick) {
        let Some(slot) = slot.upgrade() else { return };
        let Some(engine) = slot.read().clone() else { return };
        if ops.evaluate_alerts {
            if let Err(e) = ops.alerts.evaluate(&engine, &ops.probes, ops.alerts.elapsed()) {
                tracing::warn!(error = %e, "alert evaluation failed");
            }
        }
        if ops.publish_metrics {
            match crate::engine::metrics_snapshot(&engine) {
                Ok(snapshot) => crate::metrics::facade::publish(&snapshot),
                Err(e) => tracing::warn!(error = %e, "publishing metrics to the metrics facade failed"),
            }
        }
        if let Some(schedule) = &ops.schedule {
            if last_backup.elapsed() >= Duration::from_secs(schedule.every_secs) {
                last_backup = Instant::now();
                if let Err(e) = crate::maintenance::scheduled_backup(&engine, schedule) {
                    tracing::error!(error = %e, "scheduled backup failed");
                }
            }
        }
    }
}
