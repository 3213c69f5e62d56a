//! A few seconds of the benchmark harness (every scenario, tiny loads, debug build) so CI
//! proves it still runs end to end. It checks that every run completed requests without
//! errors; it never checks speed (that is `scripts/bench` and BENCHMARKS.md).

use std::time::Duration;

use omniroute_tests::bench::nginx;
use omniroute_tests::bench::scenarios::{Options, run};
use omniroute_tests::tools::workspace_bin;

#[tokio::test(flavor = "current_thread")]
async fn the_harness_runs_every_scenario() {
    let work = tempfile::tempdir().unwrap();
    let options = Options {
        scenarios: "abcdefg".into(),
        connections: vec![1, 4],
        warmup: Duration::from_millis(100),
        duration: Duration::from_millis(300),
        slow_streams: 20,
        soak: Some(Duration::from_millis(500)),
        restarts: 1,
        gateway_bin: workspace_bin("omniroute"),
        work_dir: work.path().to_path_buf(),
        nginx: nginx::binary().is_some(),
        gateway_cpu: None,
        harness_cpu: None,
        api_key: None,
    };
    let report = run(&options).await.expect("the harness runs");
    for letter in ["a ", "b ", "c ", "d ", "e ", "f ", "g "] {
        assert!(
            report.rows.iter().any(|r| r.scenario.starts_with(letter) && r.target == "omniroute"),
            "scenario {letter}ran through the gateway:\n{}",
            report.text
        );
    }
    for row in &report.rows {
        assert_eq!(row.summary.errors, 0, "{}: no errors\n{}", row.markdown(), report.text);
        assert!(row.summary.count > 0, "{}: requests completed\n{}", row.markdown(), report.text);
    }
    assert!(report.text.contains("restart with an existing database"), "{}", report.text);
    assert!(report.text.contains("soak"), "{}", report.text);
    assert!(report.text.contains("is taken on the other (same sqld) after"), "{}", report.text);
    assert!(report.text.contains("one usage row costs"), "{}", report.text);
}
