//! [`Ops`]: per-store operations state shared by every clone of a handle — the alert hub,
//! health probes — and the background operations thread, which every `alerts.interval_ms`
//! evaluates alert rules, takes scheduled backups and (with the `metrics-facade` feature)
//! publishes metrics to the `metrics` crate.
//!
//! The thread holds only a weak reference to the engine: dropping every handle (or
//! `close()`) ends it.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

use crate::alerts::AlertHub;
use crate::config::Config;
use crate::health::HealthProbe;
use crate::maintenance::BackupSchedule;
use crate::Memorable;

pub(crate) struct Ops {
    pub alerts: AlertHub,
    probes: RwLock<Vec<(String, HealthProbe)>>,
    stopped: Mutex<bool>,
    wake: Condvar,
    tick: Option<Duration>,
    evaluate_alerts: bool,
    schedule: Option<BackupSchedule>,
}

impl Ops {
    pub fn new(config: &Config) -> Ops {
        let alerts_on = config.alerts.enabled && !config.alerts.rules.is_empty();
        let needed = alerts_on || config.backup.schedule.is_some();
        let interval = Duration::from_millis(config.alerts.interval_ms.max(1));
        Ops {
            alerts: AlertHub::new(&config.alerts),
            probes: RwLock::new(Vec::new()),
            stopped: Mutex::new(false),
            wake: Condvar::new(),
            tick: needed.then_some(interval),
            evaluate_alerts: alerts_on,
            schedule: config.backup.schedule.clone(),
        }
    }

    pub fn probes(&self) -> Vec<(String, HealthProbe)> {
        self.probes.read().clone()
    }

    pub fn add_probe(&self, name: &str, probe: HealthProbe) {
        let mut probes = self.probes.write();
        probes.retain(|(n, _)| n != name);
        probes.push((name.to_owned(), probe));
    }

    pub fn remove_probe(&self, name: &str) -> bool {
        let mut probes = self.probes.write();
        let before = probes.len();
        probes.retain(|(n, _)| n != name);
        probes.len() != before
    }

    /// Ask the operations thread to stop (it exits at once if it is waiting).
    pub fn stop(&self) {
        *self.stopped.lock() = true;
        self.wake.notify_all();
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
pub(crate) fn start(mem: &Memorable) {
    let Some(tick) = mem.ops.tick else { return };
    let shared = Arc::downgrade(&mem.shared);
    let (metrics, ops) = (mem.metrics.clone(), mem.ops.clone());
    let spawned = std::thread::Builder::new()
        .name("memorable-ops".into())
        .spawn(move || run(shared, metrics, ops, tick));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the operations thread; alerts are evaluated only on demand");
    }
}

type Shared = Weak<parking_lot::RwLock<Option<Arc<crate::handle::Engine>>>>;

fn run(shared: Shared, metrics: Arc<crate::metrics::Metrics>, ops: Arc<Ops>, tick: Duration) {
    let mut last_backup = Instant::now();
    while ops.sleep(tick) {
        let Some(shared) = shared.upgrade() else { return };
        if shared.read().is_none() {
            return;
        }
        let mem = Memorable { shared, metrics: metrics.clone(), ops: ops.clone() };
        if ops.evaluate_alerts {
            if let Err(e) = mem.evaluate_alerts() {
                tracing::warn!(error = %e, "alert evaluation failed");
            }
        }
        if let Some(schedule) = &ops.schedule {
            if last_backup.elapsed() >= Duration::from_secs(schedule.every_secs) {
                last_backup = Instant::now();
                if let Err(e) = crate::maintenance::scheduled_backup(&mem, schedule) {
                    tracing::error!(error = %e, "scheduled backup failed");
                }
            }
        }
    }
}
