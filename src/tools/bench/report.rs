//! The benchmark's table, the unavoidable-work floor of each daemon row, and the
//! issue's targets checked against the rows.

use serde::Serialize;

use super::{Report, Row};

/// One target: what it asks, what was measured, and whether it was met (`None`:
/// the rows needed were not measured).
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The target, as stated.
    pub target: String,
    /// What this run measured for it.
    pub measured: String,
    /// Met, missed, or not measured.
    pub met: Option<bool>,
}

fn rows_of<'a>(rows: &'a [Row], kind: &'a str) -> impl Iterator<Item = &'a Row> + 'a {
    rows.iter().filter(move |r| r.kind == kind && r.measured())
}

/// Raw inference CPU per frame: batch 1 for one stream (nothing to batch with),
/// the cheapest raw row otherwise.
fn raw_cpu_ms(rows: &[Row], streams: usize) -> Option<f64> {
    let mut raw = rows_of(rows, "raw");
    if streams <= 1 {
        raw.find(|r| r.batch == Some(1)).map(|r| r.cpu_ms_per_frame)
    } else {
        raw.map(|r| r.cpu_ms_per_frame).reduce(f64::min)
    }
}

/// Sets each daemon row's `cpu_vs_floor`: its CPU per analyzed frame over decode-only
/// CPU for the frames it decoded per analyzed frame plus raw inference CPU.
pub fn fill_floors(rows: &mut [Row]) {
    let floors: Vec<Option<f64>> = rows
        .iter()
        .map(|r| {
            if !(matches!(r.kind.as_str(), "daemon" | "python") && r.measured()) {
                return None;
            }
            let decode = rows_of(rows, "decode").find(|d| d.input == r.input)?;
            let per_analyzed = r.decoded? as f64 / r.frames as f64;
            let floor = decode.cpu_ms_per_frame * per_analyzed + raw_cpu_ms(rows, r.streams)?;
            Some(r.cpu_ms_per_frame / floor)
        })
        .collect();
    for (r, f) in rows.iter_mut().zip(floors) {
        r.cpu_vs_floor = f;
    }
}

/// Frames the row's streams offer per second (sampled rate, or every frame).
fn demand(r: &Row, input_fps: f64) -> f64 {
    let per = match r.sample_fps {
        Some(f) if f > 0.0 => f.min(input_fps),
        _ => input_fps,
    };
    per * r.streams as f64
}

fn verdict(target: &str, measured: String, met: Option<bool>) -> Verdict {
    Verdict {
        target: target.into(),
        measured,
        met,
    }
}

fn not_measured(target: &str) -> Verdict {
    verdict(target, "not measured in this run".into(), None)
}

/// Histogram overlap of two label counts, 0..=1.
fn overlap(
    a: &std::collections::BTreeMap<String, u64>,
    b: &std::collections::BTreeMap<String, u64>,
) -> f64 {
    let (na, nb) = (
        a.values().sum::<u64>() as f64,
        b.values().sum::<u64>() as f64,
    );
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    a.iter()
        .map(|(k, &x)| (x as f64 / na).min(*b.get(k).unwrap_or(&0) as f64 / nb))
        .sum()
}

/// Checks the targets against the rows (`input_fps`: the first input's rate).
pub fn verdicts(rows: &[Row], input_fps: f64) -> Vec<Verdict> {
    let m = Measured::new(rows, input_fps);
    let checks: [fn(&Measured) -> Verdict; 7] = [
        saturated_throughput,
        cpu_over_floor,
        against_python,
        calm_latency,
        overload_latency,
        memory_at_four,
        streams_at_5fps,
    ];
    checks.iter().map(|check| check(&m)).collect()
}

/// The rows the targets are checked against.
struct Measured<'a> {
    all: &'a [Row],
    daemon: Vec<&'a Row>,
    /// The fastest raw row.
    raw_best: Option<&'a Row>,
    /// The raw row of batch 1.
    raw_b1: Option<&'a Row>,
    /// The input of the first daemon row.
    first_input: Option<String>,
    /// That input's frame rate.
    input_fps: f64,
}

impl<'a> Measured<'a> {
    fn new(all: &'a [Row], input_fps: f64) -> Self {
        let daemon: Vec<&Row> = rows_of(all, "daemon").collect();
        Measured {
            all,
            raw_best: rows_of(all, "raw").max_by(|a, b| a.fps.total_cmp(&b.fps)),
            raw_b1: rows_of(all, "raw").find(|r| r.batch == Some(1)),
            first_input: daemon.first().and_then(|r| r.input.clone()),
            daemon,
            input_fps,
        }
    }

    /// Daemon rows playing the first input.
    fn on_first(&self) -> impl Iterator<Item = &&'a Row> + '_ {
        self.daemon.iter().filter(|r| r.input == self.first_input)
    }

    fn demand(&self, r: &Row) -> f64 {
        demand(r, self.input_fps)
    }
}

/// 1. Saturated throughput.
fn saturated_throughput(m: &Measured) -> Verdict {
    let t = "saturated daemon throughput ≥ 90 % of raw inference";
    let saturated = m
        .daemon
        .iter()
        .filter(|r| r.dropped.unwrap_or(0) > 0)
        .max_by(|a, b| a.fps.total_cmp(&b.fps));
    match (saturated, m.raw_best) {
        (Some(d), Some(raw)) => {
            let share = d.fps / raw.fps;
            verdict(
                t,
                format!(
                    "{:.1} frames/s ({}) = {:.0} % of {:.1} ({})",
                    d.fps,
                    d.name,
                    share * 100.0,
                    raw.fps,
                    raw.name
                ),
                Some(share >= 0.9),
            )
        }
        (None, Some(_)) if !m.daemon.is_empty() => verdict(
            t,
            "no daemon row dropped frames, so none was saturated; add streams".into(),
            None,
        ),
        _ => not_measured(t),
    }
}

/// 2. CPU over the floor.
fn cpu_over_floor(m: &Measured) -> Verdict {
    let t = "daemon CPU per analyzed frame ≤ (decode-only + raw inference) × 1.10";
    let floors = || {
        m.daemon
            .iter()
            .filter_map(|r| Some((r.cpu_vs_floor?, r.name.as_str())))
    };
    let worst = floors().max_by(|a, b| a.0.total_cmp(&b.0));
    let best = floors().min_by(|a, b| a.0.total_cmp(&b.0));
    match (worst, best) {
        (Some((w, w_name)), Some((b, b_name))) => verdict(
            t,
            format!("×{w:.2} at worst ({w_name}), ×{b:.2} at best ({b_name})"),
            Some(w <= 1.10),
        ),
        _ => not_measured(t),
    }
}

/// 3. Against Python, frames per CPU-second, same sampling.
fn against_python(m: &Measured) -> Verdict {
    let t = "≥ 1.5× the Python baseline's analyzed frames per CPU-second (every N-th frame)";
    let mut parts = Vec::new();
    let mut met = None;
    for py in rows_of(m.all, "python") {
        // Every frame analyzed leaves nothing to skip: shown, not judged.
        let judged = py.sample_fps.is_some_and(|f| f > 0.0);
        let Some(d) = m
            .on_first()
            .find(|d| d.streams == 1 && d.sample_fps == py.sample_fps && d.input == py.input)
        else {
            continue;
        };
        let ratio = py.cpu_ms_per_frame / d.cpu_ms_per_frame;
        parts.push(format!(
            "×{ratio:.2} @ {}{} (top-1 label mix overlap {:.0} %)",
            super::fps_name(py.sample_fps.unwrap_or(0.0)),
            if judged { "" } else { ", not judged" },
            overlap(&d.labels, &py.labels) * 100.0
        ));
        if judged {
            met = Some(met.unwrap_or(true) && ratio >= 1.5);
        }
    }
    if parts.is_empty() {
        not_measured(t)
    } else {
        verdict(t, parts.join("; "), met)
    }
}

/// 4a. Latency when not saturated.
fn calm_latency(m: &Measured) -> Verdict {
    let t = "latency p99 ≤ one inference + 15 ms when not saturated";
    let calm = m
        .on_first()
        .find(|r| r.streams == 1 && r.sample_fps.is_some_and(|f| f > 0.0) && r.dropped == Some(0));
    match (calm, m.raw_b1) {
        (Some(d), Some(raw)) => {
            let (p99, one) = (
                d.latency_p99_ms.unwrap_or(f64::NAN),
                raw.latency_p50_ms.unwrap_or(f64::NAN),
            );
            verdict(
                t,
                format!("p99 {p99:.1} ms ({}); one inference {one:.1} ms", d.name),
                Some(p99 <= one + 15.0),
            )
        }
        _ => not_measured(t),
    }
}

/// 4b. Latency at 2× overload.
fn overload_latency(m: &Measured) -> Verdict {
    let t = "at ≥ 2× overload latency p99 ≤ two inferences + 15 ms (frames dropped, not queued)";
    let over = m.raw_best.and_then(|raw| {
        m.daemon
            .iter()
            .filter(|r| m.demand(r) >= 2.0 * raw.fps && r.dropped.unwrap_or(0) > 0)
            .max_by(|a, b| m.demand(a).total_cmp(&m.demand(b)))
            .map(|d| (d, raw))
    });
    let Some((d, raw)) = over else {
        return not_measured(t);
    };
    let p99 = d.latency_p99_ms.unwrap_or(f64::NAN);
    let one = raw.latency_p50_ms.unwrap_or(f64::NAN);
    verdict(
        t,
        format!(
            "p99 {p99:.1} ms at {:.1}× overload ({}, {} dropped); one run of batch {} {one:.1} ms",
            m.demand(d) / raw.fps,
            d.name,
            d.dropped.unwrap_or(0),
            raw.batch.unwrap_or(1)
        ),
        Some(p99 <= 2.0 * one + 15.0),
    )
}

/// 5. Memory at 4 streams.
fn memory_at_four(m: &Measured) -> Verdict {
    let t = "RSS ≤ 150 MB with 4 streams";
    let four = m
        .daemon
        .iter()
        .filter(|r| r.streams == 4)
        .max_by(|a, b| a.peak_rss_mib.total_cmp(&b.peak_rss_mib));
    let Some(d) = four else {
        return not_measured(t);
    };
    let mb = d.peak_rss_mib * 1.048_576;
    verdict(
        t,
        format!("{mb:.0} MB peak ({})", d.name),
        Some(mb <= 150.0),
    )
}

/// 6. Streams sustained at 5 fps.
fn streams_at_5fps(m: &Measured) -> Verdict {
    let t = "≥ 8 streams of the first input at 5 fps with no drops";
    let at5: Vec<&&Row> = m.on_first().filter(|r| r.sample_fps == Some(5.0)).collect();
    let sustained = at5
        .iter()
        .filter(|r| r.dropped == Some(0) && r.fps >= 0.95 * m.demand(r))
        .map(|r| r.streams)
        .max();
    let Some(tried) = at5.iter().map(|r| r.streams).max() else {
        return not_measured(t);
    };
    let measured = match sustained {
        Some(n) => format!("{n} sustained (largest tried: {tried})"),
        None => format!("none sustained (largest tried: {tried})"),
    };
    verdict(t, measured, Some(sustained.unwrap_or(0) >= 8))
}

fn opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "–".into(),
    }
}

/// The report as a readable table, with the verdicts under it.
pub fn render(r: &Report) -> String {
    let mut s = format!(
        "actiond {} bench, {} — {} ({} cores, {} GiB), GStreamer {}\nmodel {}; intra_threads {}, max_batch {}; {} s per row\n\n",
        r.actiond,
        r.date,
        r.machine.cpu,
        r.machine.cores,
        r.machine.memory_gib,
        r.machine.gstreamer,
        r.model,
        r.intra_threads,
        r.max_batch,
        r.duration_s
    );
    s.push_str(&format!(
        "{:<52} {:>9} {:>9} {:>6} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>6}\n",
        "row",
        "frames/s",
        "CPU ms/f",
        "cores",
        "p50 ms",
        "p99 ms",
        "dropped",
        "RSS MiB",
        "×floor",
        "run ms",
        "batch"
    ));
    for row in &r.rows {
        if !row.measured() {
            s.push_str(&format!("{:<52} {}\n", row.name, row.note));
            continue;
        }
        s.push_str(&format!(
            "{:<52} {:>9.1} {:>9.2} {:>6.2} {:>8} {:>8} {:>8} {:>7.0} {:>7} {:>7} {:>6}\n",
            row.name,
            row.fps,
            row.cpu_ms_per_frame,
            row.cpu_cores,
            opt(row.latency_p50_ms, 1),
            opt(row.latency_p99_ms, 1),
            row.dropped.map_or("–".into(), |d| d.to_string()),
            row.peak_rss_mib,
            opt(row.cpu_vs_floor, 2),
            opt(row.run_ms, 1),
            opt(row.mean_batch, 2),
        ));
    }
    s.push_str("\ntargets:\n");
    for v in &r.verdicts {
        let mark = match v.met {
            Some(true) => "met   ",
            Some(false) => "MISSED",
            None => "n/a   ",
        };
        s.push_str(&format!("  [{mark}] {} — {}\n", v.target, v.measured));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, name: &str) -> Row {
        Row {
            kind: kind.into(),
            name: name.into(),
            streams: 1,
            ..Row::default()
        }
    }

    fn rows() -> Vec<Row> {
        let mut raw = row("raw", "raw b1");
        raw.figures(1000, 10.0, 20.0); // 100 f/s, 20 ms CPU per frame
        raw.batch = Some(1);
        raw.latency_p50_ms = Some(10.0);
        let mut dec = row("decode", "decode");
        dec.input = Some("720p30".into());
        dec.figures(3000, 10.0, 3.0); // 1 ms CPU per decoded frame
        let mut d = row("daemon", "daemon 1 @5");
        d.input = Some("720p30".into());
        d.sample_fps = Some(5.0);
        d.figures(50, 10.0, 1.4); // 28 ms CPU per analyzed frame
        d.decoded = Some(300);
        d.dropped = Some(0);
        d.latency_p99_ms = Some(24.0);
        let mut py = row("python", "python @5");
        py.input = Some("720p30".into());
        py.sample_fps = Some(5.0);
        py.figures(50, 10.0, 2.5); // 50 ms CPU per analyzed frame
        vec![raw, dec, d, py]
    }

    #[test]
    fn floor_counts_decoding_of_every_frame_behind_each_analyzed_one() {
        let mut r = rows();
        fill_floors(&mut r);
        // Floor: 6 decoded frames × 1 ms + 20 ms inference = 26 ms; measured 28 ms.
        let want = 28.0 / 26.0;
        assert!(
            (r[2].cpu_vs_floor.unwrap() - want).abs() < 1e-9,
            "{:?}",
            r[2].cpu_vs_floor
        );
        assert_eq!(r[0].cpu_vs_floor, None);
    }

    #[test]
    fn verdicts_follow_the_figures() {
        let mut r = rows();
        fill_floors(&mut r);
        let v = verdicts(&r, 30.0);
        let met = |prefix: &str| v.iter().find(|v| v.target.starts_with(prefix)).unwrap().met;
        assert_eq!(met("daemon CPU"), Some(true));
        // 50 / 28 = 1.79.
        assert_eq!(met("≥ 1.5× the Python"), Some(true));
        assert_eq!(met("latency p99 ≤ one"), Some(true));
        // Nothing dropped: saturation was not reached, so it cannot be judged.
        assert_eq!(met("saturated"), None);
        assert_eq!(met("≥ 8 streams"), Some(false));

        r[2].latency_p99_ms = Some(25.5);
        r[2].cpu_ms_per_frame = 29.0;
        fill_floors(&mut r);
        let v = verdicts(&r, 30.0);
        let met = |prefix: &str| v.iter().find(|v| v.target.starts_with(prefix)).unwrap().met;
        assert_eq!(met("latency p99 ≤ one"), Some(false));
        assert_eq!(met("daemon CPU"), Some(false));
    }

    #[test]
    fn label_mix_overlap() {
        let a = [("x".to_string(), 3), ("y".to_string(), 1)].into();
        let b = [("x".to_string(), 1), ("y".to_string(), 1)].into();
        assert!((overlap(&a, &b) - 0.75).abs() < 1e-9);
        assert!((overlap(&a, &a) - 1.0).abs() < 1e-9);
    }
}
