//! Request counters of the server, by key name, method, route template and status, appended
//! to the store's Prometheus text on `/metrics` (key names, never keys).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// (key name, method, route template, status).
type Labels = (String, String, String, u16);

#[derive(Default)]
pub(crate) struct HttpMetrics {
    /// Labels → (requests, seconds spent).
    by: Mutex<BTreeMap<Labels, (u64, f64)>>,
}

impl HttpMetrics {
    pub(crate) fn record(&self, key: &str, method: &str, route: &str, status: u16, seconds: f64) {
        let mut by = self.by.lock().unwrap_or_else(|p| p.into_inner());
        let e = by.entry((key.to_owned(), method.to_owned(), route.to_owned(), status)).or_default();
        e.0 += 1;
        e.1 += seconds;
    }

    /// The Prometheus text of the counters.
    pub(crate) fn render(&self) -> String {
        let by = self.by.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::from(
            "# HELP memorable_http_requests_total HTTP requests answered, by API key name, method, route and status.\n\
             # TYPE memorable_http_requests_total counter\n",
        );
        let labels = |(k, m, r, s): &Labels| {
            format!("key=\"{}\",method=\"{}\",route=\"{}\",status=\"{s}\"", escape(k), escape(m), escape(r))
        };
        for (l, (n, _)) in by.iter() {
            let _ = writeln!(out, "memorable_http_requests_total{{{}}} {n}", labels(l));
        }
        out.push_str(
            "# HELP memorable_http_request_seconds_total Time spent answering HTTP requests, same labels.\n\
             # TYPE memorable_http_request_seconds_total counter\n",
        );
        for (l, (_, secs)) in by.iter() {
            let _ = writeln!(out, "memorable_http_request_seconds_total{{{}}} {secs}", labels(l));
        }
        out
    }
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_escaped_labels() {
        let m = HttpMetrics::default();
        m.record("a\"pp", "GET", "/v1/recall", 200, 0.5);
        m.record("a\"pp", "GET", "/v1/recall", 200, 0.25);
        let text = m.render();
        assert!(
            text.contains(
                r#"memorable_http_requests_total{key="a\"pp",method="GET",route="/v1/recall",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains("status=\"200\"} 0.75"), "{text}");
    }
}
