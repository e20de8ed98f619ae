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

/// Raw inference CPU per frame at its most efficient: the cheapest batch-1 row for one
/// stream (nothing to batch with), the cheapest raw row otherwise.
fn raw_cpu_ms(rows: &[Row], streams: usize) -> Option<f64> {
    rows_of(rows, "raw")
        .filter(|r| streams > 1 || r.batch == Some(1))
        .map(|r| r.cpu_ms_per_frame)
        .reduce(f64::min)
}

/// The cheapest decode of `input` this run measured, CPU ms per decoded frame.
fn decode_cpu_ms(rows: &[Row], input: &Option<String>) -> Option<f64> {
    rows_of(rows, "decode")
        .filter(|d| &d.input == input)
        .map(|d| d.cpu_ms_per_frame)
        .reduce(f64::min)
}

/// Sets each daemon and Python row's `cpu_vs_floor`: its CPU per analyzed frame over the
/// true floor, the cheapest decode for the frames it decoded per analyzed frame plus
/// the most CPU-efficient raw inference.
pub fn fill_floors(rows: &mut [Row]) {
    let floors: Vec<Option<f64>> = rows
        .iter()
        .map(|r| {
            let judged = matches!(
                r.kind.as_str(),
                "daemon" | "python" | "careful" | "careful-tuned"
            );
            if !(judged && r.measured()) {
                return None;
            }
            let per_analyzed = r.decoded? as f64 / r.frames as f64;
            let floor =
                decode_cpu_ms(rows, &r.input)? * per_analyzed + raw_cpu_ms(rows, r.streams)?;
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

/// Checks the targets against the rows (`input_fps`: the first input's rate;
/// `cores`: the cores the machine gives this process).
pub fn verdicts(rows: &[Row], input_fps: f64, cores: usize) -> Vec<Verdict> {
    let m = Measured::new(rows, input_fps, cores);
    let checks: [fn(&Measured) -> Verdict; 9] = [
        saturated_throughput,
        cpu_over_floor,
        against_careful,
        against_tuned_careful,
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
    /// Cores available.
    cores: usize,
}

impl<'a> Measured<'a> {
    fn new(all: &'a [Row], input_fps: f64, cores: usize) -> Self {
        let daemon: Vec<&Row> = rows_of(all, "daemon").collect();
        Measured {
            all,
            raw_best: rows_of(all, "raw").max_by(|a, b| a.fps.total_cmp(&b.fps)),
            raw_b1: rows_of(all, "raw").find(|r| r.batch == Some(1)),
            first_input: daemon.first().and_then(|r| r.input.clone()),
            daemon,
            input_fps,
            cores,
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

/// Target 1, saturated throughput: against the frames per second the floor's CPU
/// cost allows on every core.
fn saturated_throughput(m: &Measured) -> Verdict {
    let t = "saturated daemon throughput ≥ 90 % of the floor's frames per second";
    let saturated = m
        .daemon
        .iter()
        .filter(|r| r.dropped.unwrap_or(0) > 0 && r.cpu_vs_floor.is_some())
        .max_by(|a, b| a.fps.total_cmp(&b.fps));
    match saturated {
        Some(d) => {
            let floor_ms = d.cpu_ms_per_frame / d.cpu_vs_floor.unwrap_or(f64::NAN);
            let floor_fps = m.cores as f64 * 1000.0 / floor_ms;
            let share = d.fps / floor_fps;
            verdict(
                t,
                format!(
                    "{:.1} frames/s ({}) = {:.0} % of {:.1} ({} cores at the floor's {:.2} ms)",
                    d.fps,
                    d.name,
                    share * 100.0,
                    floor_fps,
                    m.cores,
                    floor_ms
                ),
                Some(share >= 0.9),
            )
        }
        None if !m.daemon.is_empty() => verdict(
            t,
            "no daemon row dropped frames, so none was saturated; add streams".into(),
            None,
        ),
        None => not_measured(t),
    }
}

/// 2. CPU over the floor.
fn cpu_over_floor(m: &Measured) -> Verdict {
    let t = "daemon CPU per analyzed frame ≤ 1.10 × the floor (cheapest decode + most efficient inference), sampled rows";
    let floors = || {
        m.daemon
            .iter()
            .filter(|r| r.sample_fps.is_some_and(|f| f > 0.0))
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

/// 3a. Against the careful peer, frames per CPU-second, same sampling.
fn against_careful(m: &Measured) -> Verdict {
    ratio_to(
        m,
        "careful",
        1.3,
        "≥ 1.3× the careful peer's analyzed frames per CPU-second",
    )
}

/// 3a'. Against the careful peer tuned as the daemon is (one thread, no spinning): the
/// project's own bar, no worse than the best Python one can write.
fn against_tuned_careful(m: &Measured) -> Verdict {
    ratio_to(
        m,
        "careful-tuned",
        1.0,
        "≥ 1.0× the tuned careful peer's analyzed frames per CPU-second (the project's bar)",
    )
}

/// 3b. Against the naive Python loop, frames per CPU-second, same sampling.
fn against_python(m: &Measured) -> Verdict {
    ratio_to(
        m,
        "python",
        1.5,
        "≥ 1.5× the naive Python loop's analyzed frames per CPU-second",
    )
}

/// The daemon's analyzed frames per CPU-second over those of the `kind` rows, at the
/// same sampling; met when every sampled one is at least `want`.
fn ratio_to(m: &Measured, kind: &str, want: f64, t: &str) -> Verdict {
    let mut parts = Vec::new();
    let mut met = None;
    for py in rows_of(m.all, kind) {
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
            met = Some(met.unwrap_or(true) && ratio >= want);
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
    let t = "≥ 10 streams of the first input at 5 fps with no drops";
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
    verdict(t, measured, Some(sustained.unwrap_or(0) >= 10))
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
        let mut careful = row("careful", "careful @5");
        careful.input = Some("720p30".into());
        careful.sample_fps = Some(5.0);
        careful.figures(50, 10.0, 1.6); // 32 ms CPU per analyzed frame
        vec![raw, dec, d, py, careful]
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
    fn floor_takes_the_cheapest_decode_and_inference() {
        let mut r = rows();
        // A cheaper decoder (0.5 ms per frame) and a cheaper thread setting (15 ms).
        let mut ffmpeg = row("decode", "ffmpeg");
        ffmpeg.input = Some("720p30".into());
        ffmpeg.figures(2000, 10.0, 1.0);
        let mut one_thread = row("raw", "raw b1, 1 thread");
        one_thread.figures(1000, 10.0, 15.0);
        one_thread.batch = Some(1);
        // A batch of 4 is cheaper still, but a single stream has nothing to batch with.
        let mut b4 = row("raw", "raw b4");
        b4.figures(1000, 10.0, 10.0);
        b4.batch = Some(4);
        r.extend([ffmpeg, one_thread, b4]);
        fill_floors(&mut r);
        // 6 × 0.5 + 15 = 18 ms.
        let want = 28.0 / 18.0;
        assert!((r[2].cpu_vs_floor.unwrap() - want).abs() < 1e-9);
        // Decoded frames unknown (the careful row here): no floor rather than a wrong one.
        assert_eq!(r[4].cpu_vs_floor, None);
    }

    #[test]
    fn saturation_is_judged_against_the_floor_on_every_core() {
        let mut r = rows();
        // Saturated: drops frames; 72 frames/s at 28 ms (floor 26 ms: 2 cores → 76.9/s).
        r[2].dropped = Some(10);
        r[2].figures(720, 10.0, 20.16);
        r[2].decoded = Some(720 * 6);
        fill_floors(&mut r);
        let v = verdicts(&r, 30.0, 2);
        let sat = v
            .iter()
            .find(|v| v.target.starts_with("saturated"))
            .unwrap();
        assert_eq!(sat.met, Some(true), "{}", sat.measured);
        let v = verdicts(&r, 30.0, 4);
        let sat = v
            .iter()
            .find(|v| v.target.starts_with("saturated"))
            .unwrap();
        assert_eq!(sat.met, Some(false), "{}", sat.measured);
    }

    #[test]
    fn the_tuned_peer_is_judged_at_parity() {
        for (cpu_s, want) in [(1.25, false), (1.5, true)] {
            let mut r = rows();
            let mut tuned = row("careful-tuned", "careful tuned @5");
            tuned.input = Some("720p30".into());
            tuned.sample_fps = Some(5.0);
            tuned.figures(50, 10.0, cpu_s); // 25 or 30 ms against the daemon's 28
            r.push(tuned);
            fill_floors(&mut r);
            let v = verdicts(&r, 30.0, 2);
            let t = v
                .iter()
                .find(|v| v.target.starts_with("≥ 1.0× the tuned"))
                .unwrap();
            assert_eq!(t.met, Some(want), "{}", t.measured);
        }
    }

    #[test]
    fn verdicts_follow_the_figures() {
        let mut r = rows();
        fill_floors(&mut r);
        let v = verdicts(&r, 30.0, 2);
        let met = |prefix: &str| v.iter().find(|v| v.target.starts_with(prefix)).unwrap().met;
        assert_eq!(met("daemon CPU"), Some(true));
        // 50 / 28 = 1.79.
        assert_eq!(met("≥ 1.5× the naive Python"), Some(true));
        // 32 / 28 = 1.14.
        assert_eq!(met("≥ 1.3× the careful"), Some(false));
        // No tuned peer in the run: not judged.
        assert_eq!(met("≥ 1.0× the tuned"), None);
        assert_eq!(met("latency p99 ≤ one"), Some(true));
        // Nothing dropped: saturation was not reached, so it cannot be judged.
        assert_eq!(met("saturated"), None);
        assert_eq!(met("≥ 10 streams"), Some(false));

        r[2].latency_p99_ms = Some(25.5);
        r[2].cpu_ms_per_frame = 29.0;
        fill_floors(&mut r);
        let v = verdicts(&r, 30.0, 2);
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
