//! Face measurement as the v1 video endpoints do it (protocol notes §1.5), deterministically:
//! JPEG checks (SOI marker, frame header, 8,294,400-pixel limit), faces largest first with
//! the first two measured and the rest `null`, up to 32.
//!
//! Test frames script their own content in a JPEG comment segment (`FF FE`), which real
//! JPEGs may carry: `faces=N` sets the number of faces (else it is a hash of the bytes, 0-2)
//! and `fail` makes the frame fail with `internal_error`.

use serde_json::{json, Value};

/// Largest picture the endpoints measure (3840 x 2160).
pub const MAX_PIXELS: u64 = 8_294_400;
/// Faces measured per frame (Hume's default).
pub const MEASURED_FACES: usize = 2;
/// Faces listed per frame at most.
pub const MAX_FACES: usize = 32;
/// Face `expressions` are listed above this probability.
pub const FACE_CUTOFF: f32 = 0.1;

/// What the mock reads from a JPEG.
#[derive(Debug, PartialEq)]
pub struct Jpeg {
    pub width: u32,
    pub height: u32,
    /// The `faces=N` comment, if any.
    pub faces: Option<usize>,
    /// A `fail` comment.
    pub fail: bool,
}

/// Parse a JPEG's markers up to its frame header; `Err` says why it is not a usable JPEG.
pub fn read_jpeg(data: &[u8]) -> Result<Jpeg, String> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return Err("not a JPEG (no SOI marker)".into());
    }
    let (mut faces, mut fail) = (None, false);
    let mut pos = 2;
    while pos + 4 <= data.len() {
        if data[pos] != 0xFF {
            return Err(format!("corrupt JPEG: expected a marker at byte {pos}"));
        }
        let marker = data[pos + 1];
        let len = u16::from_be_bytes([data[pos + 2], data[pos + 3]]) as usize;
        let seg = data.get(pos + 4..pos + 2 + len).ok_or("truncated JPEG segment")?;
        match marker {
            0xFE => {
                let text = String::from_utf8_lossy(seg);
                for word in text.split_whitespace() {
                    if let Some(n) = word.strip_prefix("faces=") {
                        faces = n.parse().ok();
                    }
                    fail |= word == "fail";
                }
            }
            // Start-of-frame markers (not DHT C4, JPG C8, DAC CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if seg.len() < 5 {
                    return Err("truncated JPEG frame header".into());
                }
                let height = u16::from_be_bytes([seg[1], seg[2]]) as u32;
                let width = u16::from_be_bytes([seg[3], seg[4]]) as u32;
                if width == 0 || height == 0 {
                    return Err("JPEG has no size".into());
                }
                return Ok(Jpeg { width, height, faces, fail });
            }
            0xDA => break,
            _ => {}
        }
        pos += 2 + len;
    }
    Err("JPEG has no frame header".into())
}

/// A minimal JPEG the mock accepts (SOI, a comment, a baseline frame header, EOI): what the
/// tests and the CLI's examples send.
pub fn test_jpeg(width: u16, height: u16, comment: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xFE];
    out.extend(((comment.len() + 2) as u16).to_be_bytes());
    out.extend(comment.as_bytes());
    out.extend([0xFF, 0xC0, 0x00, 0x0B, 8]);
    out.extend(height.to_be_bytes());
    out.extend(width.to_be_bytes());
    out.extend([1, 1, 0x11, 0, 0xFF, 0xD9]);
    out
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

fn round4(x: f64) -> f32 {
    ((x.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0) as f32
}

/// Face `expressions` for face `i` of a frame: a function of the frame's bytes. Only names
/// over the cutoff are listed, sorted by descending probability then name.
pub fn face_scores(frame: &[u8], i: usize) -> Vec<(String, f32)> {
    let h = fnv(frame) ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let u = |shift: u32| ((h >> shift) & 0xFFFF) as f64 / 65535.0;
    let mut out: Vec<_> = [
        ("joy", u(0)),
        ("amusement", u(16) * 0.8),
        ("interest", u(32) * 0.6),
        ("sadness", u(48) * 0.5),
        ("concentration", 0.05 + 0.1 * u(8)),
    ]
    .into_iter()
    .map(|(n, p)| (n.to_owned(), round4(p)))
    .filter(|(_, p)| *p > FACE_CUTOFF)
    .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The `faces` array of a measured frame, and how many faces were measured.
pub fn faces(frame: &[u8], jpeg: &Jpeg) -> (Value, u64) {
    let n = jpeg.faces.unwrap_or((fnv(frame) % 3) as usize).min(MAX_FACES);
    let mut measured = 0;
    let faces = (0..n)
        .map(|i| {
            // Largest first: boxes shrink with i.
            let size = (jpeg.width.min(jpeg.height) as f32 / (2.0 + i as f32)).max(1.0);
            let x0 = (i as f32 * size * 0.5).min(jpeg.width as f32 - size).max(0.0);
            let bbox = [x0, 0.0, x0 + size, size];
            let confidence = round4(0.999 - 0.01 * i as f64);
            if i < MEASURED_FACES {
                measured += 1;
                let expr: Vec<Value> =
                    face_scores(frame, i).iter().map(|(n, p)| json!({"name": n, "probability": p})).collect();
                json!({"face_id": i, "bbox": bbox, "confidence": confidence, "expressions": expr,
                       "descriptions": [{"name": "smile", "probability": 0.5}]})
            } else {
                json!({"face_id": null, "bbox": bbox, "confidence": confidence, "expressions": null, "descriptions": null})
            }
        })
        .collect();
    (faces, measured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_jpegs_read_back() {
        let j = test_jpeg(640, 480, "faces=3 fail");
        assert_eq!(read_jpeg(&j).unwrap(), Jpeg { width: 640, height: 480, faces: Some(3), fail: true });
        assert!(read_jpeg(b"\x89PNG\r\n").is_err());
        assert!(read_jpeg(&[0xFF, 0xD8, 0xFF, 0xD9]).is_err());
        let (faces, measured) = faces(&j, &read_jpeg(&j).unwrap());
        assert_eq!((faces.as_array().unwrap().len(), measured), (3, 2));
        assert!(faces[2]["expressions"].is_null() && faces[2]["face_id"].is_null());
        assert_eq!(faces[1]["face_id"], 1);
    }
}
