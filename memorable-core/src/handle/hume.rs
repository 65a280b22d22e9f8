//! Hume messages into a context's fused state, with no network (see [`crate::hume`]).

use super::Memorable;
use crate::error::Result;
use crate::hume::{self, HumeMessage, IngestReport};

impl Memorable {
    /// Parse one Hume JSON message (any family `hume::parse` accepts: v1 realtime or upload,
    /// legacy stream, EVI chat) and fuse its readings into `context` in one transaction.
    ///
    /// Messages without a measurement (session events, EVI interim / typed / assistant
    /// messages, unknown types) fuse nothing and still succeed; their notices are reported.
    /// Text that is not JSON, a message that is not an object, a known field with the wrong
    /// shape or a bad context id is an `INVALID_INPUT` error that changes nothing.
    pub fn ingest_hume(&self, context: &str, json: &str) -> Result<IngestReport> {
        hume::ingest_json(&*self.engine()?, context, json)
    }

    /// [`ingest_hume`](Self::ingest_hume) for a message already parsed, e.g. the
    /// `HumeEvent::Message` a realtime session delivers to its subscribers: the way a
    /// session's results go into a context as they arrive.
    pub fn ingest_hume_message(&self, context: &str, message: &HumeMessage) -> Result<IngestReport> {
        hume::ingest_message(&*self.engine()?, context, message)
    }

    /// [`ingest_hume`](Self::ingest_hume) for recorded messages, one JSON message a line
    /// (blank lines skipped). Every line is parsed before anything is fused, so a bad line is
    /// an `INVALID_INPUT` error naming its line number and nothing is fused; otherwise all
    /// readings go into `context` in one transaction.
    pub fn ingest_hume_lines(&self, context: &str, jsonl: &str) -> Result<IngestReport> {
        hume::ingest_lines(&*self.engine()?, context, jsonl)
    }
}
