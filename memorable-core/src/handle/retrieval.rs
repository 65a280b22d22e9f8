//! Finding memories: recall, and the 4W frame of a window.

use time::OffsetDateTime;

use super::Memorable;
use crate::attention::{self, ContextFrame};
use crate::error::Result;
use crate::retrieval::{self, Recall, Recalled, TimeWindow};

impl Memorable {
    /// Find a user's memories by meaning and keywords, best first.
    pub fn recall(&self, request: &Recall) -> Result<Vec<Recalled>> {
        let start = self.metrics.start();
        let hits = self.metrics.track(self.engine().and_then(|e| retrieval::recall(&e, request)))?;
        self.metrics.finish(&self.metrics.recall_latency, start);
        self.metrics.recalls.inc();
        Ok(hits)
    }

    /// Summarize who / what / when / where of the user's memories in `window` before now
    /// (`None`: all of them), with the current dominant emotion.
    ///
    /// ```
    /// # let mem = memorable_core::Memorable::open_in_memory()?;
    /// use memorable_core::{NewMemory, TimeWindow};
    /// mem.remember(NewMemory::new("ann", "Lunch with Priya at Café Roma").speaker("ann"))?;
    /// let frame = mem.context_frame("ann", TimeWindow::Long)?;
    /// let who: Vec<&str> = frame.who.iter().map(|m| m.name.as_str()).collect();
    /// assert!(who.contains(&"ann") && who.contains(&"Priya"), "{who:?}");
    /// # Ok::<(), memorable_core::Error>(())
    /// ```
    pub fn context_frame(&self, user: &str, window: impl Into<Option<TimeWindow>>) -> Result<ContextFrame> {
        self.context_frame_at(user, window, OffsetDateTime::now_utc())
    }

    /// [`Memorable::context_frame`] for a window ending at `at` instead of now.
    pub fn context_frame_at(
        &self,
        user: &str,
        window: impl Into<Option<TimeWindow>>,
        at: OffsetDateTime,
    ) -> Result<ContextFrame> {
        attention::context_frame(&*self.engine()?, user, window.into(), at)
    }
}
