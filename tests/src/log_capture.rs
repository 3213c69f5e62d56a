//! Log output kept in memory, for tests that check what the gateway logs: installs a `tracing`
//! subscriber (once per test binary) writing plain text into a shared buffer.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The captured log text.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl Write for LogCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Captures every event at `level` and above from now on.
    pub fn install(level: tracing::Level) -> LogCapture {
        let logs = LogCapture::default();
        let writer = logs.clone();
        tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).with_max_level(level).init();
        logs
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// The first line that contains `needle`.
    pub fn line_with(&self, needle: &str) -> Option<String> {
        self.text().lines().find(|l| l.contains(needle)).map(str::to_owned)
    }
}
