//! `within` and `for`: sampling an expectation over time.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::ast::ModifierKind;

/// One sample: whether it held, and what it produced.
pub struct Sample<T> {
    pub held: bool,
    pub value: T,
    /// When the condition began to hold, if the probe knows better than "now" (the engine's
    /// own time of a health change).
    pub held_since: Option<Instant>,
}

#[cfg(test)]
impl<T> Sample<T> {
    pub fn new(held: bool, value: T) -> Sample<T> {
        Sample {
            held,
            value,
            held_since: None,
        }
    }
}

/// How a sampled expectation ended.
pub struct Sampled<T> {
    /// The last sample (`within`), the first breaking one (`for`), or the only one.
    pub value: T,
    /// Whether the deciding sample held.
    pub held: bool,
    pub samples: u32,
    /// When the deciding sample was taken (for a `within` that held: when the condition
    /// began to hold, as far as it is known), from the start.
    pub at: Duration,
}

/// Time between samples: short at first, then at most 500 ms (stats are produced about once a
/// second anyway).
fn interval(n: u32) -> Duration {
    Duration::from_millis((100 * u64::from(n + 1)).min(500))
}

/// Samples `probe` under `modifier` (`None`: once), counting from `start`: for `within` that
/// is the subject's start or last action, which may lie in the past (the deadline is
/// `start + D` whatever the moment the sampling begins). A `within` that holds after its
/// deadline comes back with `held` and an `at` beyond the deadline: the caller fails it.
/// `wait` is called between samples of `within` and may return early on an engine event.
pub async fn sample<T, F, Fut, W, WFut>(
    modifier: Option<(ModifierKind, Duration)>,
    start: Instant,
    mut probe: F,
    mut wait: W,
) -> Sampled<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Sample<T>>,
    W: FnMut(Instant) -> WFut,
    WFut: Future<Output = ()>,
{
    let mut n = 0;
    loop {
        let s = probe().await;
        n += 1;
        let now = Instant::now();
        let at = s
            .held_since
            .filter(|_| s.held)
            .unwrap_or(now)
            .saturating_duration_since(start);
        let done = |held: bool, value: T| Sampled {
            value,
            held,
            samples: n,
            at,
        };
        match modifier {
            None => return done(s.held, s.value),
            Some((ModifierKind::Within, d)) => {
                if s.held || now >= start + d {
                    return done(s.held, s.value);
                }
                let next = (now + interval(n)).min(start + d);
                wait(next).await;
            }
            Some((ModifierKind::For, d)) => {
                if !s.held || now >= start + d {
                    return done(s.held, s.value);
                }
                let next = (now + interval(n)).min(start + d);
                tokio::time::sleep_until(next.into()).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_within_clock_runs_from_its_start_not_from_the_first_sample() {
        // The subject started 300 ms ago; the deadline (200 ms) has passed.
        let start = Instant::now() - Duration::from_millis(300);
        let s = sample(
            Some((ModifierKind::Within, Duration::from_millis(200))),
            start,
            || async { Sample::new(true, ()) },
            |until| async move { tokio::time::sleep_until(until.into()).await },
        )
        .await;
        assert!(s.held);
        assert_eq!(s.samples, 1);
        assert!(s.at >= Duration::from_millis(300), "{:?}", s.at);
    }

    #[tokio::test]
    async fn a_known_moment_of_change_is_when_it_held() {
        let start = Instant::now() - Duration::from_millis(500);
        let s = sample(
            Some((ModifierKind::Within, Duration::from_millis(200))),
            start,
            || async move {
                Sample {
                    held: true,
                    value: (),
                    held_since: Some(start + Duration::from_millis(150)),
                }
            },
            |until| async move { tokio::time::sleep_until(until.into()).await },
        )
        .await;
        assert_eq!(s.at, Duration::from_millis(150));
    }

    #[tokio::test]
    async fn within_stops_at_its_deadline_with_the_last_value() {
        let start = Instant::now();
        let mut n = 0;
        let s = sample(
            Some((ModifierKind::Within, Duration::from_millis(250))),
            start,
            || {
                n += 1;
                let v = n;
                async move { Sample::new(false, v) }
            },
            |until| async move { tokio::time::sleep_until(until.into()).await },
        )
        .await;
        assert!(!s.held);
        assert!(s.samples >= 2);
        assert_eq!(s.value, s.samples);
        assert!(start.elapsed() >= Duration::from_millis(250));
    }
}
