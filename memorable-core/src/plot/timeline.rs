//! The emotion timeline: the chosen expressions as lines over time (catalog colours), a strip
//! of source markers (which sensor produced each state), valence and arousal in a second
//! panel, date axes and a legend.

use super::axis::{full_label, time_ticks, value_ticks};
use super::svg::{escape, Svg};
use super::{Theme, TimelineOptions};
use crate::emotion::catalog::{self, LEN};
use crate::emotion::{EmotionalState, Source};
use crate::time::to_ms;

struct Palette {
    background: &'static str,
    text: &'static str,
    muted: &'static str,
    grid: &'static str,
    axis: &'static str,
    valence: &'static str,
    arousal: &'static str,
}

const LIGHT: Palette = Palette {
    background: "#ffffff",
    text: "#1f2328",
    muted: "#59636e",
    grid: "#d8dee4",
    axis: "#818b98",
    valence: "#1a7f37",
    arousal: "#cf222e",
};

const DARK: Palette = Palette {
    background: "#0d1117",
    text: "#e6edf3",
    muted: "#9198a1",
    grid: "#30363d",
    axis: "#656c76",
    valence: "#3fb950",
    arousal: "#ff7b72",
};

/// The marker colour and shape name of a source.
fn source_style(source: &Source) -> (&'static str, &'static str) {
    match source {
        Source::Text => ("#8250df", "circle"),
        Source::Voice => ("#0969da", "triangle"),
        Source::Face => ("#bf3989", "square"),
        Source::Evi => ("#bc4c00", "diamond"),
        Source::Custom(_) => ("#6e7781", "cross"),
    }
}

/// Plot-area geometry.
struct Frame {
    left: f64,
    right: f64,
    top_panel: (f64, f64),
    strip: f64,
    bottom_panel: (f64, f64),
    axis_y: f64,
    t0: i64,
    t1: i64,
}

impl Frame {
    fn x(&self, t: i64) -> f64 {
        self.left + (t - self.t0) as f64 / (self.t1 - self.t0) as f64 * (self.right - self.left)
    }
}

/// The timeline of `states` (one context's history, oldest first) as a standalone SVG.
pub(crate) fn render_timeline(context: &str, states: &[EmotionalState], o: &TimelineOptions) -> String {
    let p = if o.theme == Theme::Dark { &DARK } else { &LIGHT };
    let (w, h) = (f64::from(o.width), f64::from(o.height));
    let title = o.title.clone().unwrap_or_else(|| format!("Emotion timeline — {context}"));
    let chosen = choose(states, o);
    let (t0, t1) = time_range(states, o);
    let description = format!(
        "{title}: {} states; lines: {}",
        states.len(),
        chosen.iter().map(|&i| catalog::expression(i).name).collect::<Vec<_>>().join(", ")
    );
    let mut svg = Svg::new(o.width, o.height, &title, &description);
    svg.rect(0.0, 0.0, w, h, &format!("fill=\"{}\"", p.background));
    svg.text(20.0, 28.0, &title, &format!("font-size=\"16\" font-weight=\"600\" fill=\"{}\"", p.text));
    let subtitle = match (states.first(), states.last()) {
        (Some(a), Some(b)) => format!(
            "{} – {} · {} state{} · UTC",
            full_label(to_ms(a.at)),
            full_label(to_ms(b.at)),
            states.len(),
            if states.len() == 1 { "" } else { "s" }
        ),
        _ => "no readings in this range".to_owned(),
    };
    svg.text(20.0, 47.0, &subtitle, &format!("font-size=\"12\" fill=\"{}\"", p.muted));

    let legend_w = if w >= 640.0 { 190.0 } else { 150.0 };
    let plot_h = h - 64.0 - 44.0;
    let top_h = (plot_h - 56.0) * 0.62;
    let frame = Frame {
        left: 52.0,
        right: w - legend_w - 12.0,
        top_panel: (64.0, 64.0 + top_h),
        strip: 64.0 + top_h + 16.0,
        bottom_panel: (64.0 + top_h + 52.0, h - 44.0),
        axis_y: h - 44.0,
        t0,
        t1,
    };
    // With no state and no range there is no time to show: no ticks (not a 1970 axis).
    if !states.is_empty() || o.since.is_some() || o.until.is_some() {
        time_grid(&mut svg, &frame, p);
    }
    let peak = expression_panel(&mut svg, &frame, states, &chosen, p);
    source_strip(&mut svg, &frame, states, p);
    mood_panel(&mut svg, &frame, states, p);
    if states.is_empty() {
        let cx = (frame.left + frame.right) / 2.0;
        let cy = (frame.top_panel.0 + frame.top_panel.1) / 2.0;
        svg.text(
            cx,
            cy,
            "No readings in this range",
            &format!("font-size=\"14\" text-anchor=\"middle\" fill=\"{}\"", p.muted),
        );
    }
    legend(&mut svg, (w - legend_w, h - 8.0), &chosen, &peak, states, p);
    svg.finish()
}

/// The expressions to draw: the named ones, else the `top` by peak score over the range
/// (ties by mean, then catalog order), never one whose peak is 0.
fn choose(states: &[EmotionalState], o: &TimelineOptions) -> Vec<usize> {
    if !o.expressions.is_empty() {
        let mut out: Vec<usize> = Vec::new();
        for name in &o.expressions {
            if let Some(i) = catalog::resolve(name) {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        return out;
    }
    let mut stats = [(0.0f32, 0.0f32); LEN];
    for s in states {
        for (id, &v) in &s.scores {
            if let Some(i) = catalog::index_of(id) {
                stats[i].0 = stats[i].0.max(v);
                stats[i].1 += v;
            }
        }
    }
    let mut order: Vec<usize> = (0..LEN).filter(|&i| stats[i].0 > 0.0).collect();
    order.sort_by(|&a, &b| {
        stats[b].0.total_cmp(&stats[a].0).then(stats[b].1.total_cmp(&stats[a].1)).then(a.cmp(&b))
    });
    order.truncate(o.top);
    order
}

/// The time axis: the options' bounds where given, else the data's; a single instant gets a
/// minute either side.
fn time_range(states: &[EmotionalState], o: &TimelineOptions) -> (i64, i64) {
    let first = states.first().map(|s| to_ms(s.at));
    let last = states.last().map(|s| to_ms(s.at));
    let now_ish = o.until.or(o.since).map(to_ms).unwrap_or(0);
    let mut t0 = o.since.map(to_ms).or(first).unwrap_or(now_ish - 3_600_000);
    let mut t1 = o.until.map(to_ms).or(last).unwrap_or(t0 + 3_600_000);
    if t1 <= t0 {
        t0 -= 60_000;
        t1 += 60_000;
    }
    (t0, t1)
}

fn time_grid(svg: &mut Svg, f: &Frame, p: &Palette) {
    let max_ticks = ((f.right - f.left) / 95.0).floor().max(2.0) as usize;
    svg.open("class=\"time-axis\"");
    for tick in time_ticks(f.t0, f.t1, max_ticks) {
        let x = f.x(tick.at_ms);
        for (y0, y1) in [f.top_panel, f.bottom_panel] {
            svg.line(x, y0, x, y1, &format!("stroke=\"{}\" stroke-width=\"1\"", p.grid));
        }
        svg.line(x, f.axis_y, x, f.axis_y + 4.0, &format!("stroke=\"{}\"", p.axis));
        svg.text(
            x,
            f.axis_y + 17.0,
            &tick.label,
            &format!("font-size=\"11\" text-anchor=\"middle\" fill=\"{}\"", p.muted),
        );
    }
    svg.line(f.left, f.axis_y, f.right, f.axis_y, &format!("stroke=\"{}\"", p.axis));
    svg.close();
}

/// The expression lines; returns each chosen expression's peak over the range.
fn expression_panel(
    svg: &mut Svg,
    f: &Frame,
    states: &[EmotionalState],
    chosen: &[usize],
    p: &Palette,
) -> Vec<f32> {
    let peak: Vec<f32> =
        chosen.iter().map(|&i| states.iter().map(|s| score(s, i)).fold(0.0f32, f32::max)).collect();
    let max = peak.iter().copied().fold(0.0f32, f32::max);
    // The axis top: the peak rounded up to a tenth, so small scores still fill the panel.
    let top = ((f64::from(max) * 10.0).ceil() / 10.0).clamp(0.1, 1.0);
    let (y0, y1) = f.top_panel;
    let y = |v: f64| y1 - v / top * (y1 - y0);
    svg.open("class=\"expressions\"");
    svg.text(f.left, y0 - 6.0, "Expression score", &format!("font-size=\"11\" fill=\"{}\"", p.muted));
    for v in value_ticks(top) {
        svg.line(f.left, y(v), f.right, y(v), &format!("stroke=\"{}\" stroke-width=\"1\"", p.grid));
        svg.text(
            f.left - 6.0,
            y(v) + 4.0,
            &format!("{v:.2}"),
            &format!("font-size=\"10\" text-anchor=\"end\" fill=\"{}\"", p.muted),
        );
    }
    let dots = states.len() <= 80;
    for &i in chosen {
        let e = catalog::expression(i);
        let points: Vec<(f64, f64)> =
            states.iter().map(|s| (f.x(to_ms(s.at)), y(f64::from(score(s, i))))).collect();
        svg.open(&format!("class=\"series\" data-expression=\"{}\"", escape(e.id)));
        if points.len() > 1 {
            svg.polyline(
                &points,
                &format!("stroke=\"{}\" stroke-width=\"2\" stroke-linejoin=\"round\"", e.color),
            );
        }
        if dots || points.len() == 1 {
            for (x, yv) in &points {
                svg.circle(*x, *yv, 2.5, &format!("fill=\"{}\"", e.color));
            }
        }
        svg.close();
    }
    svg.close();
    peak
}

fn score(s: &EmotionalState, i: usize) -> f32 {
    s.scores.get(catalog::expression(i).id).copied().unwrap_or(0.0)
}

/// One marker per state, by the source of the reading that produced it.
fn source_strip(svg: &mut Svg, f: &Frame, states: &[EmotionalState], p: &Palette) {
    svg.open("class=\"sources\"");
    svg.line(f.left, f.strip, f.right, f.strip, &format!("stroke=\"{}\" stroke-dasharray=\"2 3\"", p.grid));
    for s in states {
        if let Some(source) = &s.source {
            marker(svg, f.x(to_ms(s.at)), f.strip, source);
        }
    }
    svg.close();
}

fn marker(svg: &mut Svg, x: f64, y: f64, source: &Source) {
    let (color, shape) = source_style(source);
    let class = format!("class=\"marker {shape}\" data-source=\"{}\"", escape(&source.as_string()));
    match shape {
        "circle" => svg.circle(x, y, 4.0, &format!("fill=\"{color}\" {class}")),
        "triangle" => svg.polygon(
            &[(x, y - 5.0), (x + 4.5, y + 3.5), (x - 4.5, y + 3.5)],
            &format!("fill=\"{color}\" {class}"),
        ),
        "square" => svg.rect(x - 3.5, y - 3.5, 7.0, 7.0, &format!("fill=\"{color}\" {class}")),
        "diamond" => svg.polygon(
            &[(x, y - 5.0), (x + 5.0, y), (x, y + 5.0), (x - 5.0, y)],
            &format!("fill=\"{color}\" {class}"),
        ),
        _ => {
            svg.open(&class);
            svg.line(x - 4.0, y - 4.0, x + 4.0, y + 4.0, &format!("stroke=\"{color}\" stroke-width=\"2\""));
            svg.line(x - 4.0, y + 4.0, x + 4.0, y - 4.0, &format!("stroke=\"{color}\" stroke-width=\"2\""));
            svg.close();
        }
    }
}

/// Valence as a filled band from 0, arousal as a dashed line, both in [-1, 1].
fn mood_panel(svg: &mut Svg, f: &Frame, states: &[EmotionalState], p: &Palette) {
    let (y0, y1) = f.bottom_panel;
    let mid = (y0 + y1) / 2.0;
    let y = |v: f32| mid - f64::from(v.clamp(-1.0, 1.0)) * (y1 - y0) / 2.0;
    svg.open("class=\"mood\"");
    svg.text(
        f.left,
        y0 - 6.0,
        "Valence (band) and arousal (dashed)",
        &format!("font-size=\"11\" fill=\"{}\"", p.muted),
    );
    for (v, label) in [(1.0, "+1"), (0.0, "0"), (-1.0, "−1")] {
        let stroke = if v == 0.0 { p.axis } else { p.grid };
        svg.line(f.left, y(v), f.right, y(v), &format!("stroke=\"{stroke}\" stroke-width=\"1\""));
        svg.text(
            f.left - 6.0,
            y(v) + 4.0,
            label,
            &format!("font-size=\"10\" text-anchor=\"end\" fill=\"{}\"", p.muted),
        );
    }
    if !states.is_empty() {
        let valence: Vec<(f64, f64)> = states.iter().map(|s| (f.x(to_ms(s.at)), y(s.valence))).collect();
        let arousal: Vec<(f64, f64)> = states.iter().map(|s| (f.x(to_ms(s.at)), y(s.arousal))).collect();
        let mut band = Vec::with_capacity(valence.len() + 2);
        band.push((valence[0].0, mid));
        band.extend_from_slice(&valence);
        band.push((valence[valence.len() - 1].0, mid));
        svg.polygon(&band, &format!("class=\"valence-band\" fill=\"{}\" fill-opacity=\"0.22\"", p.valence));
        svg.polyline(&valence, &format!("class=\"valence\" stroke=\"{}\" stroke-width=\"2\"", p.valence));
        svg.polyline(
            &arousal,
            &format!(
                "class=\"arousal\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"6 4\"",
                p.arousal
            ),
        );
        if states.len() == 1 {
            // One point draws no line: mark it.
            svg.circle(valence[0].0, valence[0].1, 3.0, &format!("fill=\"{}\"", p.valence));
            svg.circle(arousal[0].0, arousal[0].1, 3.0, &format!("fill=\"{}\"", p.arousal));
        }
    }
    svg.close();
}

/// The legend in the right-hand column; entries that would fall below `bottom` (a small
/// picture) are left out, with an ellipsis saying so.
fn legend(
    svg: &mut Svg,
    (x, bottom): (f64, f64),
    chosen: &[usize],
    peak: &[f32],
    states: &[EmotionalState],
    p: &Palette,
) {
    let text = |size: u32| format!("font-size=\"{size}\" fill=\"{}\"", p.text);
    let heading = format!("font-size=\"11\" font-weight=\"600\" fill=\"{}\"", p.muted);
    let mut y = 74.0;
    svg.open("class=\"legend\"");
    svg.text(x, y, "Expressions (peak)", &heading);
    for (&i, &pk) in chosen.iter().zip(peak) {
        y += 20.0;
        if y > bottom - 110.0 {
            // Keep room for the mood entries below.
            svg.text(x + 24.0, y, "…", &text(12));
            break;
        }
        let e = catalog::expression(i);
        svg.line(x, y - 4.0, x + 18.0, y - 4.0, &format!("stroke=\"{}\" stroke-width=\"3\"", e.color));
        svg.text(x + 24.0, y, &format!("{} {pk:.2}", e.name), &text(12));
    }
    y += 30.0;
    svg.text(x, y, "Mood", &heading);
    y += 20.0;
    svg.rect(x, y - 10.0, 18.0, 8.0, &format!("fill=\"{}\" fill-opacity=\"0.4\"", p.valence));
    svg.text(x + 24.0, y, "Valence", &text(12));
    y += 20.0;
    svg.line(
        x,
        y - 4.0,
        x + 18.0,
        y - 4.0,
        &format!("stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"6 4\"", p.arousal),
    );
    svg.text(x + 24.0, y, "Arousal", &text(12));
    let seen: std::collections::BTreeSet<&Source> = states.iter().filter_map(|s| s.source.as_ref()).collect();
    if !seen.is_empty() {
        y += 30.0;
        svg.text(x, y, "Sources", &heading);
        for src in seen {
            y += 20.0;
            if y > bottom - 4.0 {
                break;
            }
            marker(svg, x + 9.0, y - 4.0, src);
            svg.text(x + 24.0, y, &source_name(src), &text(12));
        }
    }
    svg.close();
}

fn source_name(s: &Source) -> String {
    match s {
        Source::Text => "Text".into(),
        Source::Voice => "Voice".into(),
        Source::Face => "Face".into(),
        Source::Evi => "EVI".into(),
        // Custom names may be 64 bytes: keep the column's width.
        Source::Custom(name) if name.chars().count() > 18 => {
            format!("{}…", name.chars().take(17).collect::<String>())
        }
        Source::Custom(name) => name.clone(),
    }
}
