//! A process's memory and CPU from `/proc`: resident set now, and CPU ticks, sampled while a
//! scenario runs so the report can give the peak RSS and the CPU share of the gateway.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Resident set size in KiB (`VmRSS`), if the process exists.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| line.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok())
}

/// User + system CPU time in clock ticks (1/100 s on Linux).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold blanks) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// Watches a process while a scenario runs.
pub struct Watch {
    pid: u32,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicU64>,
    started: Instant,
    ticks: u64,
}

/// What a watch saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub peak_rss_kib: u64,
    /// CPU time over wall time, in percent of one core.
    pub cpu_percent: f64,
    /// CPU time used, µs (10 ms resolution).
    pub cpu_us: u64,
}

impl Watch {
    /// Starts sampling `pid`'s RSS every 20 ms on the current runtime.
    pub fn start(pid: u32) -> Watch {
        let peak = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
        let stop = Arc::new(AtomicU64::new(0));
        let (p, s) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            while s.load(Ordering::Relaxed) == 0 {
                if let Some(rss) = rss_kib(pid) {
                    p.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        Watch { pid, peak, stop, started: Instant::now(), ticks: cpu_ticks(pid).unwrap_or(0) }
    }

    pub fn finish(self) -> Usage {
        self.stop.store(1, Ordering::Relaxed);
        let ticks = cpu_ticks(self.pid).unwrap_or(self.ticks).saturating_sub(self.ticks);
        let wall = self.started.elapsed().as_secs_f64().max(1e-9);
        let peak = self.peak.load(Ordering::Relaxed).max(rss_kib(self.pid).unwrap_or(0));
        Usage { peak_rss_kib: peak, cpu_percent: ticks as f64 / wall, cpu_us: ticks * 10_000 }
    }
}
