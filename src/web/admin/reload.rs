//! After a save: tell the running daemon to reload its config, the way an operator
//! would (SIGHUP). The daemon writes `foerderradar.pid` beside its lock file; the pid
//! is only trusted while the lock is held, so that a stale file never signals an
//! unrelated process.

use std::fs::File;
use std::path::Path;

use crate::store::Store;
use crate::web::WebState;

/// The daemon's pid, in its data directory.
pub const PID_FILE: &str = "foerderradar.pid";

/// Sends SIGHUP to the daemon working on this store's data directory, if one runs.
pub async fn daemon(state: &WebState) {
    let dir = match state.0.store.database_file().await {
        Ok(Some(file)) => file.parent().map(Path::to_path_buf),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "admin: cannot find the data directory; the daemon was not reloaded");
            return;
        }
    };
    let Some(dir) = dir else { return };
    match daemon_pid(&dir) {
        Some(pid) => {
            // SAFETY: kill(2) with a pid read from the daemon's own pid file while it holds the lock.
            let rc = unsafe { libc::kill(pid, libc::SIGHUP) };
            if rc == 0 {
                tracing::info!(pid, "admin: asked the daemon to reload (SIGHUP)");
            } else {
                tracing::warn!(pid, error = %std::io::Error::last_os_error(), "admin: cannot signal the daemon");
            }
        }
        None => tracing::info!("admin: no daemon runs on this data directory; the next start reads the new config"),
    }
}

fn daemon_pid(data_dir: &Path) -> Option<libc::pid_t> {
    let pid: libc::pid_t = std::fs::read_to_string(data_dir.join(PID_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let lock = File::options()
        .write(true)
        .open(data_dir.join("foerderradar.lock"))
        .ok()?;
    match lock.try_lock() {
        // Nobody holds the lock: the pid file is stale.
        Ok(()) => {
            let _ = lock.unlock();
            None
        }
        Err(std::fs::TryLockError::WouldBlock) => (pid > 1).then_some(pid),
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}
