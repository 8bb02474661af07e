//! `within` and `for`: sampling an expectation over time.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::ast::ModifierKind;

/// One sample: whether it held, and what it produced.
pub struct Sample<T> {
    pub held: bool,
    pub value: T,
}

/// How a sampled expectation ended.
pub struct Sampled<T> {
    /// The last sample (`within`), the first breaking one (`for`), or the
    /// only one.
    pub value: T,
    pub samples: u32,
    /// When the deciding sample was taken, from the start.
    pub at: Duration,
}

/// Time between samples: short at first, then at most 500 ms (stats are
/// produced about once a second anyway).
fn interval(n: u32) -> Duration {
    Duration::from_millis((100 * u64::from(n + 1)).min(500))
}

/// Samples `probe` under `modifier` (`None`: once). `wait` is called
/// between samples of `within` and may return early on an engine event.
pub async fn sample<T, F, Fut, W, WFut>(
    modifier: Option<(ModifierKind, Duration)>,
    mut probe: F,
    mut wait: W,
) -> Sampled<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Sample<T>>,
    W: FnMut(Instant) -> WFut,
    WFut: Future<Output = ()>,
{
    let start = Instant::now();
    let mut n = 0;
    loop {
        let s = probe().await;
        n += 1;
        let at = start.elapsed();
        match modifier {
            None => {
                return Sampled {
                    value: s.value,
                    samples: n,
                    at,
                };
            }
            Some((ModifierKind::Within, d)) => {
                if s.held || at >= d {
                    return Sampled {
                        value: s.value,
                        samples: n,
                        at,
                    };
                }
                let next = (Instant::now() + interval(n)).min(start + d);
                wait(next).await;
            }
            Some((ModifierKind::For, d)) => {
                if !s.held || at >= d {
                    return Sampled {
                        value: s.value,
                        samples: n,
                        at,
                    };
                }
                let next = (Instant::now() + interval(n)).min(start + d);
                tokio::time::sleep_until(next.into()).await;
            }
        }
    }
}
