//! The status page at `/`: a static page (HTML, script and style compiled into
//! the binary, nothing fetched from elsewhere) whose script draws one card per
//! stream from `/api/streams`, `/api/history` and the live `/api/events`. The
//! HTML also carries a plain summary table, rendered here, for clients without
//! script.

use crate::publish::tracker::{Health, Report, StreamView};
use crate::publish::{decimal, Message};

/// The page's script.
pub const APP_JS: &str = include_str!("page/app.js");
/// The page's style sheet.
pub const STYLE_CSS: &str = include_str!("page/style.css");
/// The page's HTML template (`{{version}}`, `{{model}}`, `{{health}}`, `{{summary}}`).
const INDEX_HTML: &str = include_str!("page/index.html");

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The summary cell for a stream's last prediction.
fn last_prediction(view: &StreamView) -> String {
    match view.last_prediction.as_deref().map(|p| &p.msg) {
        Some(Message::Prediction {
            label,
            score,
            latency_ms,
            ..
        }) => format!(
            "{} {:.2} <small>({:.0} ms)</small>",
            esc(label),
            decimal(*score),
            latency_ms
        ),
        _ => "—".to_string(),
    }
}

/// The summary table: one row per stream, as of the request.
fn summary(report: &Report) -> String {
    let mut rows = String::new();
    for (v, c) in &report.streams {
        rows.push_str(&format!(
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{} / {} / {} / {}</td><td>{}</td></tr>\n",
            esc(&v.name),
            v.state,
            v.state,
            esc(&v.reason),
            last_prediction(v),
            c.received,
            c.sampled,
            c.dropped(),
            c.classified,
            c.reconnects,
        ));
    }
    format!(
        "<table>\n<tr><th>stream</th><th>state</th><th>reason</th><th>last prediction</th>\
         <th>frames received / sampled / dropped / classified</th><th>reconnects</th></tr>\n{rows}</table>"
    )
}

/// The `/` page.
pub fn render(report: &Report, health: &Health) -> String {
    let problems: String = health
        .problems
        .iter()
        .map(|r| format!("<li>{}</li>", esc(r)))
        .collect();
    INDEX_HTML
        .replace("{{version}}", &esc(&report.version))
        .replace("{{model}}", &esc(&report.model))
        .replace("{{health}}", health.status())
        .replace("{{problems}}", &problems)
        .replace("{{summary}}", &summary(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        let view = StreamView {
            name: "cam".into(),
            state: crate::publish::StreamState::Running,
            reason: "<script>".into(),
            since: std::time::SystemTime::now(),
            last_prediction: None,
            last_event: None,
        };
        let counters = crate::stats::StreamCounters::default();
        let report = Report {
            version: "1".into(),
            model: "m<".into(),
            started: std::time::SystemTime::now(),
            streams: vec![(view, counters)],
        };
        let page = render(&report, &Health { problems: vec![] });
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>alert"));
        assert!(!page.contains("<td><script>"));
        assert!(page.contains("m&lt;") && page.contains("<td>cam</td>"));
        assert!(!page.contains("{{"), "every placeholder is filled");
    }

    #[test]
    fn the_page_fetches_nothing_from_elsewhere() {
        for text in [INDEX_HTML, APP_JS, STYLE_CSS] {
            assert!(!text.contains("http://") && !text.contains("https://"));
            assert!(!text.contains("@import") && !text.contains("//cdn"));
        }
    }
}
