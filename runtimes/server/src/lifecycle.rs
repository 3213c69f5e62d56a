//! The server's side of the core's `Lifecycle` port: a shutdown or restart asked over the
//! management API ends `serve` the way a signal does (graceful, usage flushed); on restart the
//! binary then re-executes itself with the same arguments.

use omniroute_core::ports::{Lifecycle, LifecycleAction};
use tokio::sync::watch;

/// Handed to the gateway; `serve` watches the other end.
pub struct ServerControls {
    asked: watch::Sender<Option<LifecycleAction>>,
    /// Only the binary can re-execute itself; a server embedded in a program cannot.
    restartable: bool,
}

impl ServerControls {
    pub fn new(restartable: bool) -> (ServerControls, watch::Receiver<Option<LifecycleAction>>) {
        let (asked, watcher) = watch::channel(None);
        (ServerControls { asked, restartable }, watcher)
    }
}

impl Lifecycle for ServerControls {
    fn supports(&self, action: LifecycleAction) -> bool {
        action == LifecycleAction::Shutdown || self.restartable
    }

    fn request(&self, action: LifecycleAction) {
        // The first ask wins: a restart asked during a shutdown does not undo it.
        self.asked.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(action);
                true
            } else {
                false
            }
        });
    }
}

/// Replaces this process with a fresh start of the same binary and arguments (the listener
/// and database are closed by then). Returns only if that failed.
#[cfg(unix)]
pub fn reexec() -> std::io::Error {
    use std::os::unix::process::CommandExt;
    match std::env::current_exe() {
        Ok(exe) => std::process::Command::new(exe).args(std::env::args_os().skip(1)).exec(),
        Err(e) => e,
    }
}

/// Without `exec`: start the same binary as a new process (this one then exits).
#[cfg(not(unix))]
pub fn reexec() -> std::io::Error {
    let started = std::env::current_exe()
        .and_then(|exe| std::process::Command::new(exe).args(std::env::args_os().skip(1)).spawn());
    match started {
        Ok(_) => std::process::exit(0),
        Err(e) => e,
    }
}
