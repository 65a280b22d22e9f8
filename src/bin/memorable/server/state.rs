//! What the handlers share: the store and the settings in force (a leaf, so the handlers
//! and the server's setup both use it without a circle).

use std::sync::{Arc, RwLock};

use memorable::Memorable;
use tokio::sync::Semaphore;

use super::auth::{self, Key, RateLimiter};
use super::http_metrics::HttpMetrics;
use super::settings::SettingsFile;

/// What the handlers share: the store and the settings in force.
pub(crate) struct AppState {
    pub mem: Arc<Memorable>,
    pub live: RwLock<Arc<Live>>,
    pub limiter: RateLimiter,
    pub in_flight: Arc<Semaphore>,
    /// Core calls running on the blocking pool (held by the task itself, so a request that
    /// timed out still counts until its call returns).
    pub core_slots: Arc<Semaphore>,
    pub http: HttpMetrics,
}

/// The settings in force and the keys made from them (swapped whole on reload).
pub(crate) struct Live {
    pub settings: SettingsFile,
    pub keys: Vec<Key>,
}

impl AppState {
    pub(crate) fn live(&self) -> Arc<Live> {
        self.live.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn install(&self, settings: SettingsFile) {
        let keys = auth::keys_of(&settings.server);
        self.limiter.retain(&keys);
        *self.live.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Live { settings, keys });
    }
}
