//! WAV files into what Hume's audio endpoints take: s16le, 16 kHz, mono. Integer PCM (8, 16,
//! 24, 32 bit) and IEEE float (32, 64 bit), plain or `WAVE_FORMAT_EXTENSIBLE`, any channel
//! count (averaged to mono) and any sample rate (resampled with a windowed-sinc low-pass, so
//! downsampling does not alias). Anything else — compressed WAV encodings, other containers
//! — is refused with a message that says what was found.

use crate::error::{Error, Result};

/// The rate Hume's audio endpoints take.
pub const TARGET_RATE: u32 = 16_000;

/// What a WAV file held.
#[derive(Debug, Clone, PartialEq)]
pub struct WavInfo {
    pub sample_rate: u32,
    pub channels: u16,
    pub bits_per_sample: u16,
    /// `"pcm"` or `"float"`.
    pub encoding: &'static str,
    /// Duration in milliseconds.
    pub duration_ms: u64,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::InvalidInput(msg.into())
}

/// Decode a WAV file to s16le / 16 kHz / mono bytes, with what it held.
pub fn wav_to_pcm16k(data: &[u8]) -> Result<(Vec<u8>, WavInfo)> {
    if data.len() < 12 || &data[0..4] != b"RIFF" || &data[8..12] != b"WAVE" {
        let what = sniff(data);
        return Err(bad(format!("not a WAV file ({what}); convert it to WAV (PCM) first")));
    }
    let u16_at = |i: usize| data.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |i: usize| data.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut fmt = None;
    let mut pos = 12;
    while pos + 8 <= data.len() {
        let id = &data[pos..pos + 4];
        let len = u32_at(pos + 4).unwrap_or(0) as usize;
        let body = pos + 8;
        match id {
            b"fmt " => {
                let tag = u16_at(body).ok_or_else(|| bad("truncated WAV fmt chunk"))?;
                let channels = u16_at(body + 2).ok_or_else(|| bad("truncated WAV fmt chunk"))?;
                let rate = u32_at(body + 4).ok_or_else(|| bad("truncated WAV fmt chunk"))?;
                let bits = u16_at(body + 14).ok_or_else(|| bad("truncated WAV fmt chunk"))?;
                // WAVE_FORMAT_EXTENSIBLE: the real tag is the first two bytes of the subformat GUID.
                let tag = if tag == 0xFFFE {
                    u16_at(body + 24).ok_or_else(|| bad("truncated WAV extensible header"))?
                } else {
                    tag
                };
                fmt = Some((tag, channels, rate, bits));
            }
            b"data" => {
                let (tag, channels, rate, bits) =
                    fmt.ok_or_else(|| bad("WAV data chunk before its fmt chunk"))?;
                // A streaming writer may leave the length at 0 or 0xFFFFFFFF: take what is there.
                let end =
                    if len == 0 || len == u32::MAX as usize { data.len() } else { body.saturating_add(len) };
                let samples =
                    data.get(body..end.min(data.len())).ok_or_else(|| bad("truncated WAV data chunk"))?;
                if end > data.len() {
                    tracing::warn!(
                        declared = len,
                        present = data.len() - body,
                        "WAV data chunk is shorter than its header says"
                    );
                }
                return decode(samples, tag, channels, rate, bits);
            }
            _ => {}
        }
        pos = body.saturating_add(len).saturating_add(len & 1);
    }
    Err(bad("WAV file has no data chunk"))
}

fn sniff(data: &[u8]) -> &'static str {
    if data.starts_with(b"ID3") || (data.len() > 1 && data[0] == 0xFF && data[1] & 0xE0 == 0xE0) {
        "it looks like MP3"
    } else if data.starts_with(b"fLaC") {
        "it looks like FLAC"
    } else if data.starts_with(b"OggS") {
        "it looks like Ogg"
    } else if data.get(4..8) == Some(b"ftyp") {
        "it looks like MP4/M4A"
    } else if data.starts_with(b"RIFF") {
        "a RIFF file that is not WAVE"
    } else {
        "no RIFF/WAVE header"
    }
}

fn decode(bytes: &[u8], tag: u16, channels: u16, rate: u32, bits: u16) -> Result<(Vec<u8>, WavInfo)> {
    if channels == 0 || rate == 0 {
        return Err(bad(format!("WAV header says {channels} channels at {rate} Hz")));
    }
    let encoding = match (tag, bits) {
        (1, 8 | 16 | 24 | 32) => "pcm",
        (3, 32 | 64) => "float",
        (1, b) | (3, b) => return Err(bad(format!("unsupported WAV sample size: {b} bits"))),
        (6, _) => return Err(bad("unsupported WAV encoding: A-law; convert to PCM")),
        (7, _) => return Err(bad("unsupported WAV encoding: µ-law; convert to PCM")),
        (t, _) => return Err(bad(format!("unsupported WAV encoding (format tag {t:#06x}); convert to PCM"))),
    };
    let width = bits as usize / 8;
    let frame = width * channels as usize;
    let frames = bytes.len() / frame;
    let sample = |i: usize| -> f32 {
        let b = &bytes[i * width..(i + 1) * width];
        match (encoding, width) {
            ("pcm", 1) => (b[0] as f32 - 128.0) / 128.0,
            ("pcm", 2) => i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0,
            ("pcm", 3) => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
            ("pcm", _) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0,
            (_, 4) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            _ => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32,
        }
    };
    let ch = channels as usize;
    let mono: Vec<f32> =
        (0..frames).map(|f| (0..ch).map(|c| sample(f * ch + c)).sum::<f32>() / ch as f32).collect();
    let out = resample(&mono, rate, TARGET_RATE);
    // The inverse of the 16-bit decode above (x / 32768), so 16-bit input at 16 kHz comes
    // back bit for bit; +1.0 saturates at 32767.
    let pcm = out
        .iter()
        .flat_map(|&x| ((x * 32768.0).round().clamp(-32768.0, 32767.0) as i16).to_le_bytes())
        .collect();
    let info = WavInfo {
        sample_rate: rate,
        channels,
        bits_per_sample: bits,
        encoding,
        duration_ms: frames as u64 * 1000 / rate as u64,
    };
    Ok((pcm, info))
}

/// A WAV file (16-bit PCM, 16 kHz, mono) around s16le bytes: what Hume's upload endpoint
/// takes.
pub fn pcm_to_wav(pcm: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(44 + pcm.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + pcm.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&TARGET_RATE.to_le_bytes());
    out.extend_from_slice(&(TARGET_RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(pcm.len() as u32).to_le_bytes());
    out.extend_from_slice(pcm);
    out
}

/// Resample with a Hann-windowed sinc whose cutoff is the lower Nyquist frequency.
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    const HALF_TAPS: i64 = 16;
    let ratio = from as f64 / to as f64;
    // Cutoff relative to the input rate (0.5 = its Nyquist).
    let cutoff = 0.5 * (to as f64 / from as f64).min(1.0);
    let scale = ratio.max(1.0); // widen the kernel when downsampling
    let reach = (HALF_TAPS as f64 * scale).ceil() as i64;
    let n_out = ((input.len() as f64) / ratio).floor() as usize;
    (0..n_out)
        .map(|n| {
            let t = n as f64 * ratio;
            let center = t.floor() as i64;
            let (mut acc, mut norm) = (0.0f64, 0.0f64);
            for i in (center - reach + 1)..=(center + reach) {
                if i < 0 || i as usize >= input.len() {
                    continue;
                }
                let x = t - i as f64;
                let w = 0.5 + 0.5 * (std::f64::consts::PI * x / (reach as f64 + 1.0)).cos();
                let arg = 2.0 * cutoff * x;
                let sinc = if arg.abs() < 1e-9 {
                    1.0
                } else {
                    (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
                };
                let k = 2.0 * cutoff * sinc * w;
                acc += input[i as usize] as f64 * k;
                norm += k;
            }
            if norm.abs() > 1e-12 {
                (acc / norm) as f32
            } else {
                0.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut out = b"RIFF".to_vec();
        out.extend((36 + data.len() as u32).to_le_bytes());
        out.extend(b"WAVEfmt ");
        out.extend(16u32.to_le_bytes());
        out.extend(tag.to_le_bytes());
        out.extend(channels.to_le_bytes());
        out.extend(rate.to_le_bytes());
        out.extend((rate * channels as u32 * bits as u32 / 8).to_le_bytes());
        out.extend((channels * bits / 8).to_le_bytes());
        out.extend(bits.to_le_bytes());
        out.extend(b"LIST\x04\0\0\0abcd"); // an unknown chunk to skip
        out.extend(b"data");
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
        out
    }

    fn tone(rate: u32, hz: f64, secs: f64) -> Vec<f32> {
        (0..(rate as f64 * secs) as usize)
            .map(|i| (0.5 * (2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).sin()) as f32)
            .collect()
    }

    fn rms(pcm: &[u8]) -> f64 {
        let s: Vec<f64> = pcm.chunks(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as f64 / 32768.0).collect();
        (s.iter().map(|x| x * x).sum::<f64>() / s.len() as f64).sqrt()
    }

    #[test]
    fn pcm_to_wav_round_trips() {
        let pcm: Vec<u8> = (0..200i16).flat_map(|s| (s * 97).to_le_bytes()).collect();
        let (back, info) = wav_to_pcm16k(&pcm_to_wav(&pcm)).unwrap();
        assert_eq!(back, pcm);
        assert_eq!((info.sample_rate, info.channels, info.bits_per_sample), (16_000, 1, 16));
    }

    #[test]
    fn already_16k_mono_passes_through() {
        let data: Vec<u8> = [100i16, -200, 300].iter().flat_map(|s| s.to_le_bytes()).collect();
        let (pcm, info) = wav_to_pcm16k(&wav(1, 1, 16_000, 16, &data)).unwrap();
        assert_eq!(pcm, data);
        assert_eq!((info.sample_rate, info.channels, info.encoding), (16_000, 1, "pcm"));
    }

    #[test]
    fn stereo_44k_float_is_downmixed_and_resampled() {
        let t = tone(44_100, 440.0, 1.0);
        let data: Vec<u8> = t.iter().flat_map(|&x| [x.to_le_bytes(), x.to_le_bytes()].concat()).collect();
        let (pcm, info) = wav_to_pcm16k(&wav(3, 2, 44_100, 32, &data)).unwrap();
        assert_eq!(pcm.len() / 2, 16_000);
        assert_eq!(info.duration_ms, 1000);
        // A 0.5-amplitude sine has RMS 0.354; resampling keeps it.
        assert!((rms(&pcm) - 0.3536).abs() < 0.01, "{}", rms(&pcm));
    }

    #[test]
    fn downsampling_removes_what_16k_cannot_hold() {
        // 12 kHz is above 16 kHz's Nyquist (8 kHz): it must be filtered out, not aliased.
        let t = tone(48_000, 12_000.0, 0.5);
        let data: Vec<u8> = t.iter().flat_map(|&x| ((x * 32767.0) as i16).to_le_bytes()).collect();
        let (pcm, _) = wav_to_pcm16k(&wav(1, 1, 48_000, 16, &data)).unwrap();
        assert!(rms(&pcm[2000..pcm.len() - 2000]) < 0.02, "aliasing: {}", rms(&pcm));
    }

    #[test]
    fn other_sizes_and_refusals() {
        let (pcm, _) = wav_to_pcm16k(&wav(1, 1, 16_000, 8, &[128, 255, 0])).unwrap();
        assert_eq!(pcm.len(), 6);
        let (pcm, _) = wav_to_pcm16k(&wav(1, 1, 16_000, 24, &[0, 0, 0x40, 0, 0, 0xC0])).unwrap();
        assert_eq!(pcm, [0x00, 0x40, 0x00, 0xC0]);
        for (bytes, needle) in [
            (b"ID3\x04....".to_vec(), "MP3"),
            (b"fLaC....".to_vec(), "FLAC"),
            (wav(7, 1, 8000, 8, &[1, 2]), "µ-law"),
            (wav(1, 1, 16_000, 12, &[1, 2]), "12 bits"),
            (wav(0x55, 1, 16_000, 16, &[1, 2]), "format tag"),
            (b"RIFF\0\0\0\0WAVEfmt ".to_vec(), "no data chunk"),
        ] {
            let e = wav_to_pcm16k(&bytes).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidInput);
            assert!(e.to_string().contains(needle), "{e}");
        }
    }
}
