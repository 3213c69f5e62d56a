//! `bench`: the benchmark harness of issue 7 (see `scripts/bench` and BENCHMARKS.md). Starts
//! the bench mock, nginx and the `omniroute` binary pinned to their cores, runs the scenarios
//! and prints one markdown table with every figure against the mock direct.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use omniroute_tests::bench::scenarios::{Options, run};

#[derive(Parser, Debug)]
#[command(about = "Benchmark omniroute against the mock direct and nginx, on one core each")]
struct Cli {
    /// Scenarios to run, by letter: a passthrough JSON, b passthrough stream, c translated
    /// stream, d slow streams, e fallback combo, f key + usage, g passthrough on a shared sqld
    /// (with the propagation delay and a usage row's cost there).
    #[arg(long, default_value = "abcdefg")]
    scenarios: String,
    /// Connection counts, comma-separated.
    #[arg(long, default_value = "1,16,64,256", value_delimiter = ',')]
    connections: Vec<usize>,
    /// Seconds measured per run (after the warm-up).
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Scenario d: slow streams open at once.
    #[arg(long, default_value_t = 1000)]
    slow_streams: usize,
    /// Soak seconds at 16 connections (0: none).
    #[arg(long, default_value_t = 0)]
    soak: u64,
    /// Restarts timed with the existing database.
    #[arg(long, default_value_t = 5)]
    restarts: usize,
    /// The gateway binary (default: `omniroute` beside this one).
    #[arg(long)]
    gateway: Option<PathBuf>,
    /// Where configs, the database, logs and nginx live (default: a fresh temp dir).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Skip nginx.
    #[arg(long)]
    no_nginx: bool,
    /// Do not pin (one-core machines, or to see the unpinned figures).
    #[arg(long)]
    no_pin: bool,
    /// Scenario f: the client API key to send (and pass as OMNIROUTE_BENCH_API_KEY).
    #[arg(long, env = "OMNIROUTE_BENCH_API_KEY")]
    api_key: Option<String>,
    /// Also write the report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let temp = tempfile::tempdir().ok();
    let work_dir = cli.work_dir.clone().or_else(|| temp.as_ref().map(|t| t.path().to_path_buf())).unwrap_or_default();
    let pin = !cli.no_pin && std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
    let options = Options {
        scenarios: cli.scenarios,
        connections: cli.connections,
        warmup: Duration::from_secs_f64(cli.warmup),
        duration: Duration::from_secs_f64(cli.duration),
        slow_streams: cli.slow_streams,
        soak: (cli.soak > 0).then(|| Duration::from_secs(cli.soak)),
        restarts: cli.restarts,
        gateway_bin: cli.gateway.unwrap_or_else(omniroute_tests::bench::gateway::default_binary),
        work_dir,
        nginx: !cli.no_nginx,
        gateway_cpu: pin.then_some(0),
        harness_cpu: pin.then_some(1),
        api_key: cli.api_key,
    };
    match run(&options).await {
        Ok(report) => {
            if let Some(out) = cli.out
                && let Err(e) = std::fs::write(&out, &report.text)
            {
                eprintln!("cannot write {}: {e}", out.display());
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
