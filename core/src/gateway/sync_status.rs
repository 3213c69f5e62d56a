//! How this instance keeps up with the store, for `GET /api/sync/cloud`: when it last read the
//! config version, the last time that read found a change (and took it in), and the last error.
//! Every `Gateway::refresh` (the server's loop, the Lambda's and Worker's catch-up, a management
//! write) records here.

use std::sync::Mutex;

use serde::Serialize;

/// The record, as the endpoint shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    /// Reads of the config version since start.
    pub polls: u64,
    /// When the version was last read (Unix ms).
    pub last_poll_at_ms: Option<u64>,
    /// Reloads: reads that found the version moved (by this instance's writes or another's).
    pub changes_taken: u64,
    /// When the last of them was taken in (Unix ms).
    pub last_change_at_ms: Option<u64>,
    /// The last failure to read the store, if any since start.
    pub last_error: Option<SyncError>,
}

/// A failed read (the message names the database by scheme, host and port only).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncError {
    pub message: String,
    pub at_ms: u64,
}

#[derive(Debug, Default)]
pub struct SyncStatus(Mutex<SyncState>);

impl SyncStatus {
    fn with(&self, f: impl FnOnce(&mut SyncState)) {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// A read of the version at `now_ms`; `changed` when it moved and was taken in.
    pub fn polled(&self, now_ms: u64, changed: bool) {
        self.with(|s| {
            s.polls += 1;
            s.last_poll_at_ms = Some(now_ms);
            if changed {
                s.changes_taken += 1;
                s.last_change_at_ms = Some(now_ms);
            }
        });
    }

    pub fn failed(&self, now_ms: u64, message: String) {
        self.with(|s| s.last_error = Some(SyncError { message, at_ms: now_ms }));
    }

    pub fn state(&self) -> SyncState {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_changes_and_errors_are_recorded() {
        let status = SyncStatus::default();
        status.polled(1_000, false);
        status.polled(2_000, true);
        status.failed(3_000, "database http://db:8080 is unreachable".into());
        let state = status.state();
        assert_eq!((state.polls, state.last_poll_at_ms), (2, Some(2_000)));
        assert_eq!((state.changes_taken, state.last_change_at_ms), (1, Some(2_000)));
        assert_eq!(state.last_error.map(|e| e.at_ms), Some(3_000));
    }
}
