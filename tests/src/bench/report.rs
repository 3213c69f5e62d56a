//! Figures from samples (percentiles, rates) and the report: one markdown row per run, each
//! against the mock direct in the same invocation (throughput ratio, added latency in µs).

use std::fmt::Write as _;

use super::load::Samples;
use super::procfs::Usage;

/// The figures of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub count: usize,
    pub rps: f64,
    pub p50: u32,
    pub p99: u32,
    pub p999: u32,
    pub ttfb_p50: Option<u32>,
    pub ttfb_p99: Option<u32>,
    pub gap_p99: Option<u32>,
    pub delay_p50: Option<u32>,
    pub delay_p99: Option<u32>,
    pub errors: u64,
    pub completed: u64,
}

/// The `q` quantile (0..=1) of `values` (sorted here).
pub fn quantile(values: &mut [u32], q: f64) -> Option<u32> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = ((values.len() as f64 - 1.0) * q).round() as usize;
    values.get(rank.min(values.len() - 1)).copied()
}

impl Summary {
    pub fn of(samples: &mut Samples) -> Summary {
        let rps = samples.rps();
        let latency = &mut samples.latency_us;
        Summary {
            count: latency.len(),
            rps,
            p50: quantile(latency, 0.5).unwrap_or(0),
            p99: quantile(latency, 0.99).unwrap_or(0),
            p999: quantile(latency, 0.999).unwrap_or(0),
            ttfb_p50: quantile(&mut samples.ttfb_us, 0.5),
            ttfb_p99: quantile(&mut samples.ttfb_us, 0.99),
            gap_p99: quantile(&mut samples.max_gap_us, 0.99),
            delay_p50: quantile(&mut samples.chunk_delay_us, 0.5),
            delay_p99: quantile(&mut samples.chunk_delay_us, 0.99),
            errors: samples.errors,
            completed: samples.completed,
        }
    }
}

/// One measured run, ready to print.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub target: String,
    pub connections: usize,
    pub summary: Summary,
    /// The mock direct in the same invocation, for ratios.
    pub direct: Option<Summary>,
    /// The process in the middle (gateway or nginx), if any.
    pub usage: Option<Usage>,
}

pub const HEADER: &str = "| scenario | via | conns | req/s | × direct | p50 µs | p99 µs | p99.9 µs | +p50 µs | TTFB p50/p99 µs | +TTFB p50 µs | chunk delay p50/p99 µs | max gap p99 µs | errors | peak RSS MB | CPU % | CPU µs/req |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

fn pair(a: Option<u32>, b: Option<u32>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => format!("{a}/{b}"),
        _ => "–".into(),
    }
}

fn signed(a: u32, b: u32) -> String {
    format!("{:+}", i64::from(a) - i64::from(b))
}

impl Row {
    pub fn markdown(&self) -> String {
        let s = &self.summary;
        let (ratio, added, added_ttfb) = match &self.direct {
            Some(d) if self.target != "direct" => (
                format!("{:.2}", s.rps / d.rps.max(1e-9)),
                signed(s.p50, d.p50),
                match (s.ttfb_p50, d.ttfb_p50) {
                    (Some(a), Some(b)) => signed(a, b),
                    _ => "–".into(),
                },
            ),
            _ => ("–".into(), "–".into(), "–".into()),
        };
        let (rss, cpu, per_request) = match &self.usage {
            Some(u) => (
                format!("{:.1}", u.peak_rss_kib as f64 / 1024.0),
                format!("{:.0}", u.cpu_percent),
                format!("{:.0}", u.cpu_us as f64 / s.completed.max(1) as f64),
            ),
            None => ("–".into(), "–".into(), "–".into()),
        };
        let mut line = String::new();
        let _ = write!(
            line,
            "| {} | {} | {} | {:.0} | {ratio} | {} | {} | {} | {added} | {} | {added_ttfb} | {} | {} | {} | {rss} | {cpu} | {per_request} |",
            self.scenario,
            self.target,
            self.connections,
            s.rps,
            s.p50,
            s.p99,
            s.p999,
            pair(s.ttfb_p50, s.ttfb_p99),
            pair(s.delay_p50, s.delay_p99),
            s.gap_p99.map_or("–".into(), |g| g.to_string()),
            s.errors,
        );
        line
    }
}

/// Everything printed, kept for `--out`.
#[derive(Default)]
pub struct Report {
    pub text: String,
    pub rows: Vec<Row>,
}

impl Report {
    /// Prints a line at once (a long run shows progress) and keeps it.
    pub fn line(&mut self, line: &str) {
        println!("{line}");
        self.text.push_str(line);
        self.text.push('\n');
    }
}
