//! The OpenAPI document matches what the server really does: schemathesis, driven by the
//! gateway's own `GET /api/openapi/spec`, sends generated valid and invalid requests to every
//! documented operation (stateful sequences included) and checks every answer: no 5xx, only
//! documented statuses, content types, headers and bodies that conform to the schemas, invalid
//! input refused, valid input accepted, authentication enforced, 405s with `Allow`. The few
//! exceptions live in `tests/schemathesis.toml`, each with its reason.

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::MockUpstream;
use omniroute_tests::tools::{schemathesis, workspace_root};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_conforms_under_schemathesis() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    // The spec itself is behind the management API's authentication.
    let spec = gw.admin().get(gw.url("/api/openapi/spec")).send().await.unwrap();
    assert_eq!(spec.status(), 200);
    assert_eq!(reqwest::get(gw.url("/api/openapi/spec")).await.unwrap().status(), 401);

    let report_dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(schemathesis())
        .arg("--no-color")
        .arg("--config-file")
        .arg(workspace_root().join("tests/schemathesis.toml"))
        .arg("run")
        .arg(gw.url("/api/openapi/spec"))
        .args(["--header", &format!("Cookie: {}", gw.admin_cookie)])
        .args(["--checks", "all", "--max-examples", "25", "--workers", "1", "--seed", "7"])
        .args(["--request-timeout", "20"])
        .arg("--report-dir")
        .arg(report_dir.path())
        .current_dir(report_dir.path())
        .output()
        .await
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // It really ran: a generous number of cases, every phase.
    assert!(stdout.contains("Stateful") && stdout.contains("generated"), "{stdout}");
    gw.stop().await;
}
