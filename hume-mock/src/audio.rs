//! Audio measurement as the v1 server does it (protocol notes §1.4), with deterministic
//! scores: utterance segmentation, interval results every `measurement_timer_ms` of speech,
//! the `speech_ended` rule (no final result within 1 s of the previous one), windows capped
//! at the latest 10 s, and scores that are functions of the window's samples.
//!
//! Shared by the realtime session and the upload endpoint, so both give the same results for
//! the same audio (as Hume documents).

use serde_json::{json, Value};

/// Samples per second of the only accepted format (s16le, 16 kHz, mono).
pub const SAMPLE_RATE: u64 = 16_000;
/// Segmentation block: 10 ms.
const BLOCK: usize = 160;
/// A block is speech when its RMS is over this (about -40 dBFS).
const SPEECH_RMS: f64 = 0.01;
/// Silence that ends an utterance.
const END_SILENCE_MS: u64 = 500;
/// Windows cover at most the latest 10 s of an utterance.
const MAX_WINDOW_MS: u64 = 10_000;
/// No `speech_ended` result when the previous result ended less than this before.
const MIN_FINAL_GAP_MS: u64 = 1_000;
/// `voice_attributes` are listed from this calibrated intensity on.
const ATTRIBUTE_CUTOFF: f32 = 0.725;
/// `expressions` are listed from this probability on (the mock's per-expression threshold).
pub const EXPRESSION_CUTOFF: f32 = 0.3;

/// Named probabilities, as a v1 array lists them.
pub type Scores = Vec<(String, f32)>;

fn round4(x: f64) -> f32 {
    ((x.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0) as f32
}

/// Loudness (RMS, 0..1) and zero-crossing rate (0..1) of samples.
pub fn features(samples: &[i16]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    let energy: f64 =
        samples.iter().map(|&s| (s as f64 / 32768.0).powi(2)).sum::<f64>() / samples.len() as f64;
    let crossings = samples.windows(2).filter(|w| (w[0] >= 0) != (w[1] >= 0)).count();
    (energy.sqrt(), crossings as f64 / samples.len().max(2) as f64)
}

/// The scores the mock gives a window: `(expressions, voice_attributes)`, each sorted by
/// descending probability (ties by name) and holding only names over their cutoff, as v1
/// does. Loud speech reads as excited and interested, quiet speech as calm; high pitch (many
/// zero crossings) adds joy and surprise. `"feeling uplifted"` is a v1 audio name outside
/// the legacy 48 (so clients meet an unknown name).
pub fn audio_scores(samples: &[i16]) -> (Scores, Scores) {
    let (rms, zcr) = features(samples);
    let expressions = [
        ("interest", 0.3 + 2.0 * rms),
        ("excitement", 5.0 * rms),
        ("calmness", 1.0 - 6.0 * rms),
        ("joy", 6.0 * zcr * (0.5 + 2.0 * rms)),
        ("surprise (positive)", 8.0 * zcr - 0.6),
        ("feeling uplifted", 3.0 * rms + 2.0 * zcr - 0.2),
    ];
    let attributes = [("loud", 4.0 * rms), ("calm", 1.0 - 5.0 * rms), ("high-pitched", 6.0 * zcr)];
    (listed(&expressions, EXPRESSION_CUTOFF), listed(&attributes, ATTRIBUTE_CUTOFF))
}

fn listed(scores: &[(&str, f64)], cutoff: f32) -> Vec<(String, f32)> {
    let mut out: Vec<_> =
        scores.iter().map(|&(n, p)| (n.to_owned(), round4(p))).filter(|(_, p)| *p >= cutoff).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

fn score_array(scores: &[(String, f32)]) -> Value {
    scores.iter().map(|(n, p)| json!({"name": n, "probability": p})).collect()
}

/// The utterance being measured.
struct Utterance {
    id: u64,
    start_ms: u64,
    /// End of the latest speech block.
    last_speech_ms: u64,
    /// Interval results emitted so far in this utterance.
    intervals: u64,
    /// End of the latest result of this utterance.
    last_result_end: Option<u64>,
}

/// Streaming segmentation and measurement of one session's accepted audio.
pub struct Analyzer {
    pub timer_ms: u64,
    /// Every accepted sample (tests stream seconds, not hours).
    samples: Vec<i16>,
    /// Samples already segmented (whole blocks).
    done: usize,
    utterance: Option<Utterance>,
    next_utterance: u64,
    next_measurement: u64,
    /// Result messages produced (for `session.closed` totals).
    pub measurements: u64,
    pub utterances: u64,
}

impl Analyzer {
    pub fn new(timer_ms: u64) -> Analyzer {
        Analyzer {
            timer_ms,
            samples: Vec::new(),
            done: 0,
            utterance: None,
            next_utterance: 0,
            next_measurement: 0,
            measurements: 0,
            utterances: 0,
        }
    }

    /// Milliseconds of accepted audio.
    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / SAMPLE_RATE
    }

    /// Add s16le bytes (an even count); returns the messages they complete.
    pub fn push(&mut self, pcm: &[u8]) -> Vec<Value> {
        self.samples.extend(pcm.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
        let mut out = Vec::new();
        while self.samples.len() - self.done >= BLOCK {
            let block = self.done..self.done + BLOCK;
            self.done += BLOCK;
            self.block(block, &mut out);
        }
        out
    }

    /// End of input (`session.close` or the end of an upload): the trailing partial block
    /// counts, and an utterance in progress ends with its final result and `utterance.end`.
    pub fn finish(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        if self.done < self.samples.len() {
            let block = self.done..self.samples.len();
            self.done = self.samples.len();
            self.block(block, &mut out);
        }
        if let Some(u) = self.utterance.take() {
            self.end_utterance(u, &mut out);
        }
        out
    }

    fn ms(samples: usize) -> u64 {
        samples as u64 * 1000 / SAMPLE_RATE
    }

    fn block(&mut self, block: std::ops::Range<usize>, out: &mut Vec<Value>) {
        let (start_ms, end_ms) = (Self::ms(block.start), Self::ms(block.end));
        let speech = features(&self.samples[block]).0 > SPEECH_RMS;
        match &mut self.utterance {
            None if speech => {
                let id = self.next_utterance;
                self.next_utterance += 1;
                self.utterances += 1;
                out.push(json!({"type": "utterance.start", "utterance_id": id, "audio_start_ms": start_ms}));
                self.utterance = Some(Utterance {
                    id,
                    start_ms,
                    last_speech_ms: end_ms,
                    intervals: 0,
                    last_result_end: None,
                });
            }
            None => {}
            Some(u) if speech => {
                u.last_speech_ms = end_ms;
                if end_ms >= u.start_ms + (u.intervals + 1) * self.timer_ms {
                    u.intervals += 1;
                    u.last_result_end = Some(end_ms);
                    let (id, start) = (u.id, u.start_ms);
                    out.push(self.result(id, start, end_ms, "interval"));
                }
            }
            Some(u) if end_ms >= u.last_speech_ms + END_SILENCE_MS => {
                let u = self.utterance.take().expect("matched Some");
                self.end_utterance(u, out);
            }
            Some(_) => {}
        }
    }

    fn end_utterance(&mut self, u: Utterance, out: &mut Vec<Value>) {
        let end = u.last_speech_ms;
        let due = match u.last_result_end {
            None => true,
            Some(prev) => prev + MIN_FINAL_GAP_MS <= end,
        };
        if due {
            out.push(self.result(u.id, u.start_ms, end, "speech_ended"));
        }
        out.push(json!({"type": "utterance.end", "utterance_id": u.id, "audio_start_ms": u.start_ms, "audio_end_ms": end}));
    }

    fn result(&mut self, utterance: u64, utt_start: u64, end_ms: u64, trigger: &str) -> Value {
        let start_ms = utt_start.max(end_ms.saturating_sub(MAX_WINDOW_MS));
        let a = (start_ms * SAMPLE_RATE / 1000) as usize;
        let b = ((end_ms * SAMPLE_RATE / 1000) as usize).min(self.samples.len());
        let (expressions, attributes) = audio_scores(&self.samples[a.min(b)..b]);
        let id = self.next_measurement;
        self.next_measurement += 1;
        self.measurements += 1;
        json!({
            "type": "measurement.result", "measurement_id": id, "utterance_id": utterance,
            "audio_start_ms": start_ms, "audio_end_ms": end_ms, "trigger": trigger,
            "expressions": score_array(&expressions), "voice_attributes": score_array(&attributes),
        })
    }
}

/// Why an uploaded audio body was refused (the §1.6 codes).
#[derive(Debug, PartialEq)]
pub enum AudioError {
    Unsupported(&'static str),
    Decode(String),
}

/// Decode an upload's `file` part into s16le 16 kHz mono bytes: a WAV, or raw bytes.
pub fn decode_upload(data: &[u8]) -> Result<Vec<u8>, AudioError> {
    let starts = |m: &[u8]| data.starts_with(m);
    if starts(b"ID3") || (data.len() > 1 && data[0] == 0xFF && data[1] & 0xE0 == 0xE0) {
        return Err(AudioError::Unsupported("MP3 is not supported; send WAV or raw s16le"));
    }
    if starts(b"fLaC") || starts(b"OggS") || data.get(4..8) == Some(b"ftyp") {
        return Err(AudioError::Unsupported(
            "FLAC, Ogg and MP4/M4A are not supported; send WAV or raw s16le",
        ));
    }
    if starts(b"RIFF") {
        if data.get(8..12) != Some(b"WAVE") {
            return Err(AudioError::Unsupported("a RIFF file that is not WAVE"));
        }
        return wav_pcm(data).map_err(AudioError::Decode);
    }
    if data.is_empty() || !data.len().is_multiple_of(2) {
        return Err(AudioError::Decode("raw audio must be a non-empty, even number of bytes (s16le)".into()));
    }
    Ok(data.to_vec())
}

/// The PCM of a WAV that is exactly s16le / 16 kHz / mono with a plain PCM header.
pub fn wav_pcm(data: &[u8]) -> Result<Vec<u8>, String> {
    let u16_at = |i: usize| data.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |i: usize| data.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut pos = 12;
    let mut format_ok = false;
    while let (Some(id), Some(len)) = (data.get(pos..pos + 4), u32_at(pos + 4)) {
        let body = pos + 8;
        let len = len as usize;
        match id {
            b"fmt " => {
                let (fmt, ch, rate, bits) =
                    (u16_at(body), u16_at(body + 2), u32_at(body + 4), u16_at(body + 14));
                if fmt == Some(0xFFFE) {
                    return Err("WAVE_FORMAT_EXTENSIBLE headers are not supported".into());
                }
                if (fmt, ch, rate, bits) != (Some(1), Some(1), Some(16_000), Some(16)) {
                    return Err(format!(
                        "WAV must be 16-bit PCM, 16000 Hz, mono (got format {fmt:?}, {ch:?} channels, {rate:?} Hz, {bits:?} bits)"
                    ));
                }
                format_ok = true;
            }
            b"data" => {
                if !format_ok {
                    return Err("WAV data chunk before its fmt chunk".into());
                }
                let pcm = data.get(body..body + len).ok_or("WAV data chunk is truncated")?;
                if pcm.is_empty() || !pcm.len().is_multiple_of(2) {
                    return Err("WAV data chunk is empty or has an odd length".into());
                }
                return Ok(pcm.to_vec());
            }
            _ => {}
        }
        pos = body + len + (len & 1);
    }
    Err("WAV has no data chunk".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: u64, amp: f64) -> Vec<u8> {
        let n = (ms * SAMPLE_RATE / 1000) as usize;
        (0..n).flat_map(|i| ((amp * 32767.0 * (i as f64 * 0.2).sin()) as i16).to_le_bytes()).collect()
    }

    fn silence(ms: u64) -> Vec<u8> {
        vec![0; (ms * SAMPLE_RATE / 1000) as usize * 2]
    }

    fn types(v: &[Value]) -> Vec<String> {
        v.iter()
            .map(|m| match m["trigger"].as_str() {
                Some(t) => format!("result:{t}:{}-{}", m["audio_start_ms"], m["audio_end_ms"]),
                None => m["type"].as_str().unwrap().to_owned(),
            })
            .collect()
    }

    #[test]
    fn documented_example_8_intervals_and_a_final_result() {
        // Speech from 100 ms (98 in Hume's example, on a 10 ms grid here), close at 26 000.
        let mut a = Analyzer::new(3000);
        let mut out = a.push(&silence(100));
        out.extend(a.push(&tone(25_900, 0.3)));
        out.extend(a.finish());
        let results: Vec<_> = out.iter().filter(|m| m["type"] == "measurement.result").collect();
        assert_eq!(results.len(), 9);
        assert_eq!(results[7]["audio_end_ms"], 24_100);
        assert_eq!(
            (results[8]["audio_start_ms"].as_u64(), results[8]["audio_end_ms"].as_u64()),
            (Some(16_000), Some(26_000))
        );
        assert_eq!(results[8]["trigger"], "speech_ended");
        assert_eq!(out.last().unwrap()["type"], "utterance.end");
    }

    #[test]
    fn final_result_skipped_within_one_second_and_utterances_split_on_silence() {
        let mut a = Analyzer::new(3000);
        let mut out = a.push(&tone(3500, 0.3)); // interval at 3000, speech ends 3500: skip final
        out.extend(a.push(&silence(800)));
        out.extend(a.push(&tone(1000, 0.05))); // a second, short utterance: final only
        out.extend(a.push(&silence(600)));
        assert_eq!(
            types(&out),
            [
                "utterance.start",
                "result:interval:0-3000",
                "utterance.end",
                "utterance.start",
                "result:speech_ended:4300-5300",
                "utterance.end"
            ]
        );
        assert_eq!(out[4]["utterance_id"], 1);
        assert_eq!(out[4]["measurement_id"], 1);
    }

    #[test]
    fn scores_are_deterministic_and_sparse() {
        let loud: Vec<i16> = tone(1000, 0.3).chunks(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        let quiet: Vec<i16> = tone(1000, 0.03).chunks(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        let (e1, _) = audio_scores(&loud);
        let (e2, _) = audio_scores(&quiet);
        assert_eq!(e1, audio_scores(&loud).0);
        assert_eq!(e1[0].0, "excitement");
        assert!(e2.iter().any(|(n, _)| n == "calmness"));
        assert!(!e1.iter().any(|(n, _)| n == "calmness"), "below the cutoff: not listed");
        assert!(e1.iter().all(|(_, p)| *p >= EXPRESSION_CUTOFF));
    }

    #[test]
    fn upload_formats() {
        let mut wav =
            b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0\0\x7d\0\0\x02\0\x10\0data\x04\0\0\0"
                .to_vec();
        wav.extend([1, 0, 2, 0]);
        assert_eq!(decode_upload(&wav).unwrap(), [1, 0, 2, 0]);
        let mut stereo = wav.clone();
        stereo[22] = 2;
        assert!(matches!(decode_upload(&stereo), Err(AudioError::Decode(_))));
        assert!(matches!(decode_upload(b"ID3\x03rest"), Err(AudioError::Unsupported(_))));
        assert!(matches!(decode_upload(b"RIFF\0\0\0\0AVI "), Err(AudioError::Unsupported(_))));
        assert!(matches!(decode_upload(&[1, 2, 3]), Err(AudioError::Decode(_))));
        assert_eq!(decode_upload(&[1, 2]).unwrap(), [1, 2]);
    }
}
