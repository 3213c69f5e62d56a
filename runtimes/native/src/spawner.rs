//! `TokioSpawner`: the Spawner port as tracked tokio tasks, so shutdown can wait for them.

use omniroute_core::maybe_send::BoxFuture;
use omniroute_core::ports::Spawner;
use tokio_util::task::TaskTracker;

/// Spawns onto the current runtime and remembers the task until it ends.
#[derive(Clone, Default)]
pub struct TokioSpawner {
    tracker: TaskTracker,
}

impl TokioSpawner {
    /// Waits for every task spawned so far (after `close`, none can be added).
    pub async fn drain(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }
}

impl Spawner for TokioSpawner {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.tracker.spawn(task);
    }
}
