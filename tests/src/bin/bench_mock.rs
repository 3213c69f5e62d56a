//! `bench-mock`: the benchmark's mock upstream on its own, for runs with other load tools
//! (`wrk`, `oha`): OpenAI chat and Anthropic Messages on `127.0.0.1:PORT/v1`.

use omniroute_tests::bench::mock::BenchMock;

fn main() -> std::process::ExitCode {
    let port = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(8089);
    match BenchMock::start(port) {
        Ok(mock) => {
            eprintln!("bench mock on {} (Ctrl-C to stop)", mock.base_url());
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            eprintln!("cannot start the bench mock: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
