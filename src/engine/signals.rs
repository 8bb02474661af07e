//! Interrupts: SIGINT (Ctrl-C), SIGTERM, SIGHUP (a closed terminal) and SIGQUIT all mean
//! "stop and clean up". The handlers are installed when the runtime starts, before dspec
//! talks to the engine, so no moment of a run is left to the default action (death without
//! cleanup).

use std::sync::OnceLock;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

static INTERRUPTED: OnceLock<watch::Receiver<Option<&'static str>>> = OnceLock::new();

/// Installs the handlers (once per process; later calls do nothing). Must run inside the
/// runtime.
pub fn install() {
    INTERRUPTED.get_or_init(|| {
        let (tx, rx) = watch::channel(None);
        let kinds = [
            (SignalKind::interrupt(), "SIGINT"),
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::hangup(), "SIGHUP"),
            (SignalKind::quit(), "SIGQUIT"),
        ];
        for (kind, name) in kinds {
            // Registered now, in this call: the OS handler is in place when `install` returns.
            let Ok(mut s) = signal(kind) else { continue };
            let tx = tx.clone();
            tokio::spawn(async move {
                while s.recv().await.is_some() {
                    let _ = tx.send(Some(name));
                }
            });
        }
        rx
    });
}

/// Resolves once an interrupt has arrived (at once if one already has), with the signal's
/// name. Never resolves when [`install`] was not called.
pub async fn interrupted() -> &'static str {
    let Some(rx) = INTERRUPTED.get() else {
        return std::future::pending().await;
    };
    let mut rx = rx.clone();
    match rx.wait_for(Option::is_some).await {
        Ok(v) => v.unwrap_or("a signal"),
        Err(_) => std::future::pending().await,
    }
}
