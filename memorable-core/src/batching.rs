//! Work over many texts in parallel chunks, grouped by length first.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Run `f` over `texts` in chunks of at most `chunk` texts (on rayon's pool when there are
/// several), and return one result per text in the caller's order.
///
/// The texts are grouped by length first (a stable sort on bytes), so each chunk holds texts
/// of similar length: a padded forward (the candle classifier) pays for the longest text of
/// each batch, and a packed one (the native embedder) gets chunks of even cost for its
/// threads. In the caller's order a batch of short turns with a few long ones makes every
/// chunk as slow as its longest text. `what` names `f` in the error when it returns the wrong
/// number of results.
pub(crate) fn by_length<T: Send>(
    texts: &[&str],
    chunk: usize,
    what: &str,
    f: impl Fn(&[&str]) -> Result<Vec<T>> + Sync,
) -> Result<Vec<T>> {
    let checked = |part: &[&str]| -> Result<Vec<T>> {
        let out = f(part)?;
        if out.len() != part.len() {
            return Err(Error::Model(format!(
                "{what} returned {} results for {} texts",
                out.len(),
                part.len()
            )));
        }
        Ok(out)
    };
    if texts.len() <= chunk.max(1) {
        return checked(texts);
    }
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].len());
    let sorted: Vec<&str> = order.iter().map(|&i| texts[i]).collect();
    let parts: Vec<Vec<T>> = sorted.par_chunks(chunk.max(1)).map(checked).collect::<Result<_>>()?;
    let mut out: Vec<Option<T>> = std::iter::repeat_with(|| None).take(texts.len()).collect();
    for (&i, v) in order.iter().zip(parts.into_iter().flatten()) {
        out[i] = Some(v);
    }
    Ok(out.into_iter().map(|v| v.expect("one result per text")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_callers_order_from_length_sorted_chunks() {
        let texts = ["ccc", "a", "bbbbbb", "dd", "e", "ffff", "ggggggg"];
        let seen = std::sync::Mutex::new(Vec::new());
        let out = by_length(&texts, 2, "upper", |part| {
            seen.lock().unwrap().push(part.iter().map(|t| t.len()).collect::<Vec<_>>());
            Ok(part.iter().map(|t| t.to_uppercase()).collect())
        })
        .unwrap();
        assert_eq!(out, ["CCC", "A", "BBBBBB", "DD", "E", "FFFF", "GGGGGGG"]);
        let mut chunks = seen.into_inner().unwrap();
        chunks.sort();
        // Each chunk holds neighbours in length.
        assert_eq!(chunks, [vec![1, 1], vec![2, 3], vec![4, 6], vec![7]]);
    }

    #[test]
    fn a_wrong_count_is_an_error() {
        let err = by_length(&["a", "b", "c"], 2, "broken", |_| Ok(vec![0])).unwrap_err();
        assert!(err.to_string().contains("broken returned 1 results for 2 texts"), "{err}");
    }
}
