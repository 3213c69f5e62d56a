//! The official OpenAI Python SDK, unchanged, against the self-hosted server.

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use omniroute_tests::sdk::run_openai_sdk_chat;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_chats_through_the_server() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start("", &[("OPENAI_API_KEY", "sk-test"), ("OPENAI_BASE_URL", &mock.base_url())]).await;
    let base = gw.url("/v1");
    let summary = tokio::task::spawn_blocking(move || run_openai_sdk_chat(&base, "openai")).await.unwrap();
    assert_eq!(summary["chat"], MOCK_TEXT);
    assert_eq!(summary["stream"], MOCK_TEXT);
    assert!(
        mock.requests().iter().all(|r| r.headers["authorization"] == "Bearer sk-test"),
        "the client's key never reaches the upstream"
    );
    gw.stop().await;
}
