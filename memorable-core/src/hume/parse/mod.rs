//! Parsing Hume messages into readings, with no network: one entry point, [`parse`], for
//! every message family MemoRable meets (see `docs/hume.md` and the protocol notes):
//!
//! - **v1 Expression Measurement**: realtime `measurement.result` (audio or video), the
//!   other realtime messages (`session.*`, `utterance.*`, `error`), and the upload
//!   endpoints' JSON responses and error bodies;
//! - **legacy stream** (`v0/stream/models`) responses: `prosody`, `burst`, `face`,
//!   `facemesh` and `language` predictions, warnings (top level or nested under a model key)
//!   and `E0xxx` errors;
//! - **EVI** chat messages: a final, spoken `user_message` with prosody scores gives one
//!   reading; interim, typed-text and assistant messages give none.
//!
//! Names are kept exactly as Hume spells them here (`"Surprise (negative)"`,
//! `"surprise (negative)"`, `"feeling uplifted"`); resolving them onto the emotion catalog is
//! the fusion side's job. Unknown message types, fields and names pass through: Hume adds
//! names at any time and its SDKs skip unknown types. Only text that is not JSON, a message
//! that is not an object, or a known field with the wrong shape is an error.
//!
//! The hot path (a v1 audio result) is one serde pass over borrowed input into a typed
//! envelope; no intermediate `serde_json::Value`.

mod types;
mod wire;

pub use types::*;

use crate::error::{Error, Result};
use wire::Envelope;

/// Parse one Hume JSON message (any family) into readings and notices.
///
/// Errors only on text that is not JSON, JSON that is not an object, or a known field with
/// the wrong shape ([`Error::InvalidInput`], naming line and column); unknown types, fields
/// and names pass through.
pub fn parse(json: &str) -> Result<HumeMessage> {
    let env: Envelope<'_> = serde_json::from_str(json).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() { "is not valid JSON" } else { "has an unexpected shape" };
        Error::InvalidInput(format!("Hume message {what}: {e}"))
    })?;
    env.into_message()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recorded sample of every family (`tests/fixtures/hume/recorded.jsonl`, written
    /// from the protocol notes) with its case names.
    fn recorded() -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hume");
        let lines = std::fs::read_to_string(dir.join("recorded.jsonl")).unwrap();
        let names = std::fs::read_to_string(dir.join("recorded.names.txt")).unwrap();
        let out: Vec<_> = names.lines().map(str::to_owned).zip(lines.lines().map(str::to_owned)).collect();
        assert_eq!(out.len(), lines.lines().count());
        out
    }

    fn case(name: &str) -> HumeMessage {
        let (_, json) = recorded().into_iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name}"));
        parse(&json).unwrap()
    }

    fn score(r: &HumeReading, name: &str) -> Option<f32> {
        r.scores.iter().find(|s| s.name == name).map(|s| s.value)
    }

    #[test]
    fn every_recorded_message_parses() {
        for (name, json) in recorded() {
            parse(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn v1_audio_result() {
        let m = case("v1 audio result");
        assert_eq!((m.family, m.message_type.as_deref()), (Family::V1Realtime, Some("measurement.result")));
        let [r] = &m.readings[..] else { panic!("{m:?}") };
        assert_eq!((r.source, r.model), (HumeSource::Voice, HumeModel::V1Audio));
        assert_eq!(r.semantics, Semantics::Sparse { cutoff: None });
        assert_eq!(r.window, Some(TimeWindow { start_ms: 98, end_ms: 3098 }));
        assert_eq!(r.scores.len(), 2);
        assert_eq!(score(r, "interest"), Some(0.6231));
        assert_eq!(score(r, "amusement"), Some(0.4187));
        assert_eq!(r.descriptors[0], Score { name: "clear".into(), value: 0.9612 });
        assert_eq!(
            (r.utterance_id, r.measurement_id, r.trigger.as_deref()),
            (Some(0), Some(0), Some("interval"))
        );
        assert!(m.notices.is_empty());
    }

    #[test]
    fn unknown_names_and_fields_pass_through() {
        let m = case("v1 audio result, forward compatible");
        let [r] = &m.readings[..] else { panic!("{m:?}") };
        assert_eq!(score(r, "feeling uplifted"), Some(0.7001));
        assert_eq!(score(r, "surprise (positive)"), Some(0.512));
        assert_eq!(r.trigger.as_deref(), Some("speech_ended"));

        // Empty arrays: a reading that says "nothing passed the cutoff".
        let m = case("v1 audio result, empty arrays");
        assert!(m.readings[0].scores.is_empty());

        let m = case("unknown type");
        assert_eq!((m.family, m.message_type.as_deref()), (Family::Unknown, Some("session.heartbeat")));
        assert!(m.readings.is_empty() && m.notices.is_empty());
    }

    #[test]
    fn v1_control_messages_yield_nothing() {
        for name in ["v1 session.created", "v1 utterance.start", "v1 utterance.end", "v1 session.closed"] {
            let m = case(name);
            assert_eq!(m.family, Family::V1Realtime, "{name}");
            assert!(m.readings.is_empty() && m.notices.is_empty(), "{name}");
        }
        let m = case("v1 rate_limited");
        assert_eq!(m.notices[0].code.as_deref(), Some("rate_limited"));
        assert_eq!((m.notices[0].severity, m.notices[0].retryable), (Severity::Error, Some(true)));
    }

    #[test]
    fn v1_video_result() {
        let m = case("v1 video result");
        // Two measured faces (one with nothing over the cutoff); the unmeasured face
        // (null expressions) gives no reading.
        assert_eq!(m.readings.len(), 2);
        let r = &m.readings[0];
        assert_eq!((r.source, r.model), (HumeSource::Face, HumeModel::V1Face));
        assert_eq!(r.semantics, Semantics::Sparse { cutoff: Some(0.1) });
        assert_eq!(r.confidence, 0.9981);
        let face = r.face.as_ref().unwrap();
        assert_eq!(
            (face.face_id.as_deref(), face.bbox, face.frame),
            (Some("0"), Some([412.0, 96.5, 655.0, 388.0]), Some(0))
        );
        assert_eq!(score(r, "amusement"), Some(0.7124));
        assert_eq!(r.descriptors.len(), 2);
        assert!(m.readings[1].scores.is_empty());
        assert!(case("v1 video result, no faces").readings.is_empty());
    }

    #[test]
    fn v1_upload_responses_and_errors() {
        let m = case("v1 audio upload");
        assert_eq!(m.family, Family::V1Upload);
        assert_eq!(m.readings.len(), 2);
        assert_eq!(m.readings[1].window, Some(TimeWindow { start_ms: 320, end_ms: 5120 }));
        assert_eq!(score(&m.readings[1], "tiredness"), Some(0.3));

        let m = case("v1 image upload");
        assert_eq!(m.readings.len(), 1);
        assert_eq!(m.readings[0].face.as_ref().unwrap().bbox, Some([1.0, 2.0, 101.0, 122.0]));

        let m = case("v1 http error");
        assert_eq!(m.notices[0].code.as_deref(), Some("audio_decode_failed"));
        let m = case("gateway 429");
        assert_eq!((m.family, m.notices[0].message.as_str()), (Family::V1Upload, "API rate limit exceeded"));
    }

    #[test]
    fn legacy_models() {
        let m = case("legacy prosody");
        assert_eq!(m.family, Family::Legacy);
        let r = &m.readings[0];
        assert_eq!(
            (r.source, r.model, r.semantics),
            (HumeSource::Voice, HumeModel::LegacyProsody, Semantics::Dense)
        );
        assert_eq!(r.scores.len(), 48);
        assert_eq!(r.window, Some(TimeWindow { start_ms: 0, end_ms: 2310 }));
        // Legacy scores are unthresholded and can leave [0, 1]; parse keeps them as sent.
        assert_eq!(score(r, "Calmness"), Some(1.07));

        let m = case("legacy burst");
        assert_eq!(m.readings[0].model, HumeModel::LegacyBurst);
        assert_eq!(m.readings[0].descriptors[0].name, "Laugh");
        assert_eq!(m.readings[0].window, Some(TimeWindow { start_ms: 500, end_ms: 1100 }));

        let m = case("legacy face");
        let r = &m.readings[0];
        assert_eq!((r.source, r.confidence, r.window), (HumeSource::Face, 0.9987, None));
        let face = r.face.as_ref().unwrap();
        // {x,y,w,h} → [x0,y0,x1,y1]; "unknown" → no id.
        assert_eq!(
            (face.face_id.clone(), face.bbox, face.frame),
            (None, Some([120.5, 88.0, 330.5, 328.0]), Some(0))
        );
        assert_eq!(score(r, "Sadness"), Some(0.61));

        let m = case("legacy language");
        let r = &m.readings[0];
        assert_eq!(
            (r.source, r.scores.len(), r.text.as_deref()),
            (HumeSource::Text, 53, Some("I'm so happy"))
        );
        assert_eq!(score(r, "Gratitude"), Some(0.44));

        let m = case("legacy facemesh");
        assert_eq!(
            (m.readings[0].source, m.readings[0].model),
            (HumeSource::Face, HumeModel::LegacyFacemesh)
        );
    }

    #[test]
    fn legacy_warnings_both_shapes_and_errors() {
        for (name, model) in [("legacy warning, top level", None), ("legacy warning, nested", Some("face"))] {
            let m = case(name);
            assert_eq!(m.family, Family::Legacy);
            assert!(m.readings.is_empty());
            let n = &m.notices[0];
            assert_eq!(
                (n.severity, n.code.as_deref(), n.model.as_deref()),
                (Severity::Warning, Some("W0103"), model)
            );
            assert_eq!(n.message, "No faces detected.");
        }
        for (name, code) in [("legacy error E0203", "E0203"), ("legacy error E0205", "E0205")] {
            let m = case(name);
            assert_eq!((m.family, m.notices[0].severity), (Family::Legacy, Severity::Error));
            assert_eq!(m.notices[0].code.as_deref(), Some(code));
        }
        let m = case("legacy job_details only");
        assert_eq!(m.family, Family::Legacy);
        assert!(m.readings.is_empty() && m.notices.is_empty());
    }

    #[test]
    fn evi_only_final_spoken_user_messages() {
        let m = case("evi user_message");
        assert_eq!(m.family, Family::Evi);
        let [r] = &m.readings[..] else { panic!("{m:?}") };
        assert_eq!(
            (r.source, r.model, r.semantics),
            (HumeSource::Evi, HumeModel::EviProsody, Semantics::Dense)
        );
        assert_eq!(r.scores.len(), 48);
        assert_eq!(score(r, "Joy"), Some(0.41));
        assert_eq!(r.window, Some(TimeWindow { start_ms: 13840, end_ms: 15920 }));
        assert_eq!(r.text.as_deref(), Some("I finally got the job!"));
        for name in [
            "evi user_message interim",
            "evi user_message typed",
            "evi assistant_message",
            "evi assistant_prosody",
            "evi chat_metadata",
        ] {
            let m = case(name);
            assert_eq!(m.family, Family::Evi, "{name}");
            assert!(m.readings.is_empty(), "{name}");
        }
        let m = case("evi error");
        assert_eq!((m.family, m.notices[0].code.as_deref()), (Family::Evi, Some("I0100")));
    }

    #[test]
    fn malformed_input_is_a_clear_error() {
        for bad in [
            "",
            "{",
            "not json",
            "[1,2]",
            "42",
            "{\"type\":\"measurement.result\",\"expressions\":[{\"name\":\"joy\"}]}",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidInput, "{bad}");
            assert!(e.to_string().contains("Hume message"), "{e}");
        }
        let e = parse("{\"type\":").unwrap_err().to_string();
        assert!(e.contains("not valid JSON") && e.contains("line 1"), "{e}");
        let e = parse("{\"expressions\": 3, \"type\": \"measurement.result\"}").unwrap_err().to_string();
        assert!(e.contains("unexpected shape"), "{e}");
        // A legacy model key with the wrong shape, once the message is legacy.
        let e = parse("{\"prosody\": {\"predictions\": 7}}").unwrap_err().to_string();
        assert!(e.contains("unexpected shape"), "{e}");
        let e = parse("{\"prosody\": \"x\"}").unwrap_err().to_string();
        assert!(e.contains("`prosody` is a string"), "{e}");
    }
}
