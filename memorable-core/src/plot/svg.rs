//! A small SVG writer: elements appended as text, every attribute value and text node escaped,
//! every coordinate written with one decimal, so the same data gives byte-identical output.

use std::fmt::Write;

/// An SVG document being written.
pub(crate) struct Svg {
    out: String,
}

/// Escape text for an XML attribute value or text node.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most control characters even escaped: drop them.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A coordinate or length with one decimal (`-0.0` written as `0`; a non-finite value, which
/// no valid state produces, as `0` rather than an invalid attribute).
pub(crate) fn num(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    let r = (x * 10.0).round() / 10.0;
    if r == 0.0 {
        "0".into()
    } else if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

impl Svg {
    pub(crate) fn new(width: u32, height: u32, title: &str, description: &str) -> Svg {
        let mut out = String::with_capacity(16 * 1024);
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"title desc\" \
             font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\">\n<title id=\"title\">{}</title>\n\
             <desc id=\"desc\">{}</desc>\n",
            escape(title),
            escape(description)
        );
        Svg { out }
    }

    /// Open a group (`<g ...>`); `attrs` are already-escaped `name="value"` pairs.
    pub(crate) fn open(&mut self, attrs: &str) {
        let _ = writeln!(self.out, "<g {attrs}>");
    }

    pub(crate) fn close(&mut self) {
        self.out.push_str("</g>\n");
    }

    pub(crate) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, attrs: &str) {
        let _ = writeln!(
            self.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {attrs}/>",
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0))
        );
    }

    pub(crate) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, attrs: &str) {
        let _ = writeln!(
            self.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {attrs}/>",
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
    }

    /// A polyline through `points`; `attrs` carry stroke and class.
    pub(crate) fn polyline(&mut self, points: &[(f64, f64)], attrs: &str) {
        let _ = writeln!(self.out, "<polyline points=\"{}\" fill=\"none\" {attrs}/>", points_attr(points));
    }

    /// A closed polygon.
    pub(crate) fn polygon(&mut self, points: &[(f64, f64)], attrs: &str) {
        let _ = writeln!(self.out, "<polygon points=\"{}\" {attrs}/>", points_attr(points));
    }

    pub(crate) fn circle(&mut self, cx: f64, cy: f64, r: f64, attrs: &str) {
        let _ =
            writeln!(self.out, "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" {attrs}/>", num(cx), num(cy), num(r));
    }

    /// A text node; `text` is escaped here.
    pub(crate) fn text(&mut self, x: f64, y: f64, text: &str, attrs: &str) {
        let _ = writeln!(self.out, "<text x=\"{}\" y=\"{}\" {attrs}>{}</text>", num(x), num(y), escape(text));
    }

    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

fn points_attr(points: &[(f64, f64)]) -> String {
    let mut s = String::with_capacity(points.len() * 12);
    for (i, (x, y)) in points.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&num(*x));
        s.push(',');
        s.push_str(&num(*y));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("<script>\"a\" & 'b'\u{1}</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn numbers_have_one_decimal_and_no_negative_zero() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.26), "1.3");
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(-2.45), "-2.5");
        assert_eq!(num(f64::NAN), "0");
    }
}
