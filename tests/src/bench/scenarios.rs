//! The scenarios of issue 7, each run beside the mock direct (and nginx where a plain proxy
//! can do the same) in one invocation, so the ratios hold on a noisy machine:
//! (a) passthrough JSON, (b) passthrough stream (+ drip streams for per-chunk delay),
//! (c) OpenAI client → Anthropic upstream, translated stream, (d) many slow streams open at
//! once (memory per open stream), (e) a combo whose first target fails fast, (f) a client API
//! key and usage recording, (g) the same passthrough on a shared sqld database (with the
//! propagation delay and a usage row's cost there, `shared_db`); then the restart time with an
//! existing database and a soak.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http::header::{AUTHORIZATION, HeaderValue};

use super::gateway::{GatewayProcess, Launch, config};
use super::load::{self, Load, RequestSpec};
use super::mock::BenchMock;
use super::nginx::Nginx;
use super::procfs::{self, Watch};
use super::report::{HEADER, Report, Row, Summary};
use super::shared_db::{SharedPair, usage_row_cost};
use super::wire;

/// What to run and how hard.
#[derive(Clone, Debug)]
pub struct Options {
    /// Letters of the scenarios to run (`abcdef`).
    pub scenarios: String,
    pub connections: Vec<usize>,
    pub warmup: Duration,
    pub duration: Duration,
    /// Scenario d: how many slow streams are open at once.
    pub slow_streams: usize,
    /// A soak at 16 connections of this length, RSS sampled along it.
    pub soak: Option<Duration>,
    /// Restarts measured (time to the first answer with an existing database).
    pub restarts: usize,
    pub gateway_bin: PathBuf,
    pub work_dir: PathBuf,
    pub nginx: bool,
    /// Cores for the gateway (and nginx) and for the mock and driver.
    pub gateway_cpu: Option<usize>,
    pub harness_cpu: Option<usize>,
    /// Scenario f: the client key sent as `Authorization: Bearer` (and given to the gateway as
    /// `OMNIROUTE_BENCH_API_KEY`), once the gateway checks keys.
    pub api_key: Option<String>,
}

/// Which request a run sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Json,
    Stream,
    /// A stream of `chunks` stamped chunks `gap_ms` apart.
    Drip {
        gap_ms: u64,
        chunks: u64,
    },
}

impl Kind {
    fn model(self) -> String {
        match self {
            Kind::Json | Kind::Stream => wire::MODEL.to_owned(),
            Kind::Drip { gap_ms, chunks } => format!("{}{gap_ms}-{chunks}", wire::DRIP_PREFIX),
        }
    }
}

fn spec(path: &str, body: bytes::Bytes) -> RequestSpec {
    RequestSpec { path: path.into(), body, headers: Vec::new() }
}

/// The request to the mock itself (`prefix` empty) or through a gateway provider (`mock/`).
fn openai(prefix: &str, kind: Kind) -> RequestSpec {
    spec("/v1/chat/completions", wire::openai_request(&format!("{prefix}{}", kind.model()), kind != Kind::Json))
}

struct Bench<'a> {
    options: &'a Options,
    /// How the gateway under test was started (scenario g starts more like it).
    launch: &'a Launch,
    mock: BenchMock,
    gateway: GatewayProcess,
    nginx: Option<Nginx>,
    report: Report,
    /// Direct runs by request kind and connections, measured once and shared by scenarios.
    direct: HashMap<(Kind, usize), Summary>,
    /// The gateway's own rows by scenario letter and connections (for cross-scenario ratios).
    gateway_rows: HashMap<(char, usize), Summary>,
}

/// Runs everything `options` asks for and returns the report.
pub async fn run(options: &Options) -> Result<Report, String> {
    if let Some(cpu) = options.harness_cpu {
        pin_self(cpu).await;
    }
    let mock = BenchMock::start(0).map_err(|e| format!("mock: {e}"))?;
    std::fs::create_dir_all(&options.work_dir).map_err(|e| e.to_string())?;
    let data_dir = options.work_dir.join("data");
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    let config_path = options.work_dir.join("omniroute.toml");
    std::fs::write(&config_path, config(&mock.base_url())).map_err(|e| e.to_string())?;
    let mut env = Vec::new();
    if let Some(key) = &options.api_key {
        env.push(("OMNIROUTE_BENCH_API_KEY".to_owned(), key.clone()));
    }
    let launch = Launch {
        binary: options.gateway_bin.clone(),
        data_dir,
        config_path,
        port: free_port()?,
        cpu: options.gateway_cpu,
        env,
    };
    let first = openai("mock/", Kind::Json);
    let gateway = launch.start(&first).await?;
    let mut report = Report::default();
    report.line(&format!(
        "first start (new database, migrations): first answer after {:.1} ms",
        gateway.started_in.as_secs_f64() * 1000.0
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = procfs::rss_kib(gateway.pid).unwrap_or(0);
    report.line(&format!("idle RSS after start and one request: {:.1} MB", idle as f64 / 1024.0));
    let nginx = match options.nginx {
        true => {
            let dir = options.work_dir.join("nginx");
            match Nginx::start(&dir, free_port()?, mock.addr, options.gateway_cpu).await {
                Ok(nginx) => Some(nginx),
                Err(e) => {
                    report.line(&format!("nginx skipped: {e}"));
                    None
                }
            }
        }
        false => None,
    };
    let mut bench = Bench {
        options,
        launch: &launch,
        mock,
        gateway,
        nginx,
        report,
        direct: HashMap::new(),
        gateway_rows: HashMap::new(),
    };
    bench.report.line("");
    bench.report.line(HEADER);
    for letter in options.scenarios.chars() {
        match letter {
            'a' => bench.passthrough(Kind::Json, 'a', "a passthrough JSON").await,
            'b' => bench.stream().await,
            'c' => bench.translated().await,
            'd' => bench.slow_streams().await,
            'e' => bench.fallback().await,
            'f' => bench.keyed().await,
            'g' => bench.shared_database().await,
            _ => {}
        }
    }
    bench.notes();
    if let Some(soak) = options.soak {
        bench.soak(soak).await;
    }
    let Bench { gateway, mut report, .. } = bench;
    gateway.stop().await;
    restarts(&launch, &first, options.restarts, &mut report).await?;
    Ok(report)
}

impl Bench<'_> {
    fn load(&self, connections: usize) -> Load {
        Load { connections, warmup: self.options.warmup, duration: self.options.duration }
    }

    /// The mock direct for this request kind (measured once per invocation).
    async fn direct(&mut self, kind: Kind, load: Load, scenario: &str) -> Summary {
        let key = (kind, load.connections);
        if let Some(summary) = self.direct.get(&key) {
            return *summary;
        }
        let mut samples = load::run(self.mock.addr, &openai("", kind), load).await;
        let summary = Summary::of(&mut samples);
        self.direct.insert(key, summary);
        self.row(scenario, "direct", load.connections, summary, None, None);
        summary
    }

    /// Runs `spec` through `addr`, watching `pid`.
    async fn through(
        &mut self,
        addr: SocketAddr,
        pid: u32,
        spec: &RequestSpec,
        load: Load,
    ) -> (Summary, procfs::Usage) {
        let watch = Watch::start(pid);
        let mut samples = load::run(addr, spec, load).await;
        let usage = watch.finish();
        if let Some(error) = &samples.first_error {
            self.report.line(&format!("  (first error: {error})"));
        }
        (Summary::of(&mut samples), usage)
    }

    fn row(
        &mut self,
        scenario: &str,
        target: &str,
        connections: usize,
        summary: Summary,
        direct: Option<Summary>,
        usage: Option<procfs::Usage>,
    ) {
        let row = Row { scenario: scenario.into(), target: target.into(), connections, summary, direct, usage };
        self.report.line(&row.markdown());
        self.report.rows.push(row);
    }

    async fn via_nginx(&mut self, scenario: &str, kind: Kind, load: Load, direct: Summary) {
        let Some((addr, pid)) = self.nginx.as_ref().map(|n| (n.addr, n.pid)) else { return };
        let (summary, usage) = self.through(addr, pid, &openai("", kind), load).await;
        self.row(scenario, "nginx", load.connections, summary, Some(direct), Some(usage));
    }

    async fn via_gateway(&mut self, letter: char, scenario: &str, spec: &RequestSpec, load: Load, direct: Summary) {
        let (addr, pid) = (self.gateway.addr, self.gateway.pid);
        let (summary, usage) = self.through(addr, pid, spec, load).await;
        self.gateway_rows.insert((letter, load.connections), summary);
        self.row(scenario, "omniroute", load.connections, summary, Some(direct), Some(usage));
    }

    /// (a) and (b): direct, nginx, the gateway, at every connection count.
    async fn passthrough(&mut self, kind: Kind, letter: char, scenario: &str) {
        for connections in self.options.connections.clone() {
            let load = self.load(connections);
            let direct = self.direct(kind, load, scenario).await;
            self.via_nginx(scenario, kind, load, direct).await;
            self.via_gateway(letter, scenario, &openai("mock/", kind), load, direct).await;
        }
    }

    /// (b), then drip streams: each chunk's delay from the mock to the client.
    async fn stream(&mut self) {
        self.passthrough(Kind::Stream, 'b', "b passthrough stream").await;
        let drip = Kind::Drip { gap_ms: 5, chunks: 20 };
        for connections in [1, 16].into_iter().filter(|c| self.options.connections.contains(c)) {
            let load = self.load(connections);
            let scenario = "b drip 20×5 ms";
            let direct = self.direct(drip, load, scenario).await;
            self.via_nginx(scenario, drip, load, direct).await;
            self.via_gateway('B', scenario, &openai("mock/", drip), load, direct).await;
        }
    }

    /// (c): the OpenAI client's stream from an Anthropic upstream.
    async fn translated(&mut self) {
        let spec = openai("mockant/", Kind::Stream);
        for connections in self.options.connections.clone() {
            let load = self.load(connections);
            let direct = self.direct(Kind::Stream, load, "c translated stream").await;
            self.via_gateway('c', "c OpenAI→Anthropic stream", &spec, load, direct).await;
        }
    }

    /// (d): `slow_streams` streams of 40 chunks 50 ms apart, all open at once.
    async fn slow_streams(&mut self) {
        let n = self.options.slow_streams;
        let kind = Kind::Drip { gap_ms: 50, chunks: 40 };
        // Every stream counts, opening storm included; long enough for one or two 2 s streams.
        let duration = self.options.duration.clamp(Duration::from_millis(2200), Duration::from_millis(4500));
        let load = Load { connections: n, warmup: Duration::ZERO, duration };
        let before = procfs::rss_kib(self.gateway.pid).unwrap_or(0);
        let scenario = format!("d {n} slow streams");
        let direct = self.direct(kind, load, &scenario).await;
        self.via_nginx(&scenario, kind, load, direct).await;
        let (addr, pid) = (self.gateway.addr, self.gateway.pid);
        let (summary, usage) = self.through(addr, pid, &openai("mock/", kind), load).await;
        self.row(&scenario, "omniroute", n, summary, Some(direct), Some(usage));
        let per_stream = (usage.peak_rss_kib.saturating_sub(before)) as f64 / n.max(1) as f64;
        self.report.line(&format!(
            "  d: gateway RSS {:.1} MB before, {:.1} MB peak with {n} open streams ({per_stream:.1} KiB per stream)",
            before as f64 / 1024.0,
            usage.peak_rss_kib as f64 / 1024.0
        ));
    }

    /// (e): a 3-target combo whose first target answers 503 at once.
    async fn fallback(&mut self) {
        let spec = spec("/v1/chat/completions", wire::openai_request("combo/fallback", false));
        for connections in self.options.connections.clone() {
            let load = self.load(connections);
            let direct = self.direct(Kind::Json, load, "e fallback").await;
            self.via_gateway('e', "e combo, 1st target 503", &spec, load, direct).await;
        }
    }

    /// (f): a client API key and usage recording (always on). Until the gateway checks keys,
    /// the key is only sent; `--api-key` is the switch once they exist.
    async fn keyed(&mut self) {
        let mut spec = openai("mock/", Kind::Json);
        let key = self.options.api_key.clone().unwrap_or_else(|| "sk-omniroute-bench".into());
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer {key}")) {
            spec.headers.push((AUTHORIZATION, value));
        }
        for connections in self.options.connections.clone() {
            let load = self.load(connections);
            let direct = self.direct(Kind::Json, load, "f key + usage").await;
            self.via_gateway('f', "f key + usage", &spec, load, direct).await;
        }
    }

    /// (g): passthrough JSON through a gateway on a sqld (its ratio to (a) is in the notes),
    /// then the propagation delay between two gateways on it and a usage row's cost there.
    async fn shared_database(&mut self) {
        let first = openai("mock/", Kind::Json);
        let pair = match SharedPair::start(self.launch, &first).await {
            Ok(pair) => pair,
            Err(e) => {
                self.report.line(&format!("g skipped: {e}"));
                return;
            }
        };
        let scenario = "g passthrough JSON, sqld";
        for connections in self.options.connections.clone() {
            let load = self.load(connections);
            let direct = self.direct(Kind::Json, load, scenario).await;
            let (summary, usage) = self.through(pair.a.addr, pair.a.pid, &first, load).await;
            self.gateway_rows.insert(('g', connections), summary);
            self.row(scenario, "omniroute", connections, summary, Some(direct), Some(usage));
        }
        match pair.propagation(5).await {
            Ok(delays) => {
                let list: Vec<String> = delays.iter().map(|d| format!("{d:.0}")).collect();
                self.report.line(&format!(
                    "  g: a key created on one gateway is taken on the other (same sqld) after {:.0} ms (median of {}: {} ms)",
                    delays[delays.len() / 2],
                    delays.len(),
                    list.join(", ")
                ));
            }
            Err(e) => self.report.line(&format!("  g: propagation not measured: {e}")),
        }
        let rows = 2_000;
        match usage_row_cost(&pair.sqld.url, &self.options.work_dir, rows).await {
            Ok((file, remote)) => self.report.line(&format!(
                "  g: one usage row costs {file:.1} µs on the file and {remote:.1} µs on sqld (a flush of {rows} rows)"
            )),
            Err(e) => self.report.line(&format!("  g: usage row cost not measured: {e}")),
        }
        pair.stop().await;
    }

    /// Ratios between the gateway's own scenarios.
    fn notes(&mut self) {
        let rows = self.gateway_rows.clone();
        self.report.line("");
        for connections in self.options.connections.clone() {
            let base = |letter| rows.get(&(letter, connections)).copied();
            for (letter, against, what) in [
                ('c', 'b', "translated / passthrough stream throughput"),
                ('e', 'a', "fallback combo / passthrough JSON throughput"),
                ('f', 'a', "key + usage / passthrough JSON throughput"),
                ('g', 'a', "on sqld / on the file, passthrough JSON throughput"),
            ] {
                if let (Some(x), Some(y)) = (base(letter), base(against)) {
                    let added = i64::from(x.p50) - i64::from(y.p50);
                    self.report.line(&format!(
                        "  {connections} conns: {what} = {:.2} (p50 {added:+} µs)",
                        x.rps / y.rps.max(1e-9)
                    ));
                }
            }
        }
    }

    /// Passthrough JSON and streams in turns at 16 connections for `length`, RSS every 10 s.
    async fn soak(&mut self, length: Duration) {
        let pid = self.gateway.pid;
        let started = std::time::Instant::now();
        let mut series = vec![(0u64, procfs::rss_kib(pid).unwrap_or(0))];
        let mut total = 0usize;
        let mut errors = 0u64;
        let mut turn = 0usize;
        while started.elapsed() < length {
            let kind = if turn.is_multiple_of(2) { Kind::Json } else { Kind::Stream };
            turn += 1;
            let slice = Duration::from_secs(10).min(length);
            let load = Load { connections: 16, warmup: Duration::ZERO, duration: slice };
            let samples = load::run(self.gateway.addr, &openai("mock/", kind), load).await;
            total += samples.latency_us.len();
            errors += samples.errors;
            series.push((started.elapsed().as_secs(), procfs::rss_kib(pid).unwrap_or(0)));
        }
        let points: Vec<String> =
            series.iter().map(|(s, kib)| format!("{s} s: {:.1} MB", *kib as f64 / 1024.0)).collect();
        self.report.line(&format!(
            "soak {} s at 16 conns ({total} requests, {errors} errors), RSS: {}",
            length.as_secs(),
            points.join(", ")
        ));
    }
}

/// Restarts the gateway on its existing database, `runs` times; reports each start time.
async fn restarts(launch: &Launch, first: &RequestSpec, runs: usize, report: &mut Report) -> Result<(), String> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let gateway = launch.start(first).await?;
        times.push(gateway.started_in.as_secs_f64() * 1000.0);
        gateway.stop().await;
    }
    if !times.is_empty() {
        times.sort_by(f64::total_cmp);
        let list: Vec<String> = times.iter().map(|t| format!("{t:.1}")).collect();
        report.line(&format!(
            "restart with an existing database: first answer after {:.1} ms (median of {runs}: {} ms)",
            times[times.len() / 2],
            list.join(", ")
        ));
    }
    Ok(())
}

/// Pins this process (every thread) to `cpu` with `taskset`.
async fn pin_self(cpu: usize) {
    let pid = std::process::id().to_string();
    let _ = tokio::process::Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu.to_string(), &pid])
        .stdout(std::process::Stdio::null())
        .status()
        .await;
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}
