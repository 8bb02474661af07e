//! Progress on standard error while a run goes on.
//!
//! - On a terminal: a live view, redrawn in place, of what is busy now (builds with their
//!   current step, containers starting, checks waiting with elapsed time and limit) and a count
//!   of passed and failed expectations.
//! - Elsewhere (CI logs): one block per spec file, printed when the file is finished and in the
//!   order of the files, so the log reads the same however the work interleaved. With `-v`, every
//!   step is also printed as it happens.
//!
//! Every write is whole lines, from one task, so concurrent work never interleaves mid-line.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::event::{Activity, Event, Task};
use crate::compile::Program;

/// Most busy tasks shown at once in the live view.
const MAX_ROWS: usize = 8;

struct Busy {
    label: String,
    text: String,
    since: Instant,
    limit: Option<Duration>,
}

#[derive(Default)]
struct FileLog {
    /// Subject lines by declaration order.
    subjects: BTreeMap<usize, String>,
    passed: usize,
    failed: usize,
    done: bool,
}

pub struct ProgressView {
    program: Arc<Program>,
    live: bool,
    verbose: bool,
    width: usize,
    busy: BTreeMap<(usize, Task), Busy>,
    files: Vec<FileLog>,
    /// The next file whose block is due (non-terminal).
    next: usize,
    passed: usize,
    failed: usize,
    started: Instant,
    /// Lines of the live view on screen now.
    drawn: usize,
}

impl ProgressView {
    /// `live`: a terminal `width` columns wide; otherwise plain lines (every step too with
    /// `verbose`).
    pub fn new(program: Arc<Program>, live: bool, verbose: bool, width: usize) -> ProgressView {
        let files = program.files.iter().map(|_| FileLog::default()).collect();
        ProgressView {
            program,
            live,
            verbose,
            width: width.max(20),
            busy: BTreeMap::new(),
            files,
            next: 0,
            passed: 0,
            failed: 0,
            started: Instant::now(),
            drawn: 0,
        }
    }

    /// Takes one event; returns what to write to standard error.
    pub fn event(&mut self, e: &Event, now: Instant) -> String {
        let mut out = String::new();
        match e {
            Event::Progress(p) => {
                let key = (p.file, p.task.clone());
                let label = self.label(p.file, &p.task);
                match &p.activity {
                    Activity::Working { text } => {
                        if self.verbose && !self.live {
                            let _ = writeln!(out, "{label}: {text}");
                        }
                        let since = self.busy.get(&key).map_or(now, |b| b.since);
                        let busy = Busy {
                            label,
                            text: text.clone(),
                            since,
                            limit: None,
                        };
                        self.busy.insert(key, busy);
                    }
                    Activity::Waiting { limit } => {
                        if self.verbose && !self.live {
                            let _ = writeln!(out, "waiting: {label}");
                        }
                        let busy = Busy {
                            label,
                            text: String::new(),
                            since: now,
                            limit: Some(*limit),
                        };
                        self.busy.insert(key, busy);
                    }
                    Activity::Ready { text, took } => {
                        self.busy.remove(&key);
                        let line = format!("{label}: {text} in {}", secs(*took));
                        if self.verbose && !self.live {
                            let _ = writeln!(out, "{line}");
                        }
                        if let Task::Subject(name) = &p.task {
                            let order = self.subject_order(p.file, name);
                            self.files[p.file].subjects.insert(order, line);
                        }
                    }
                }
            }
            Event::SetupFailed(f) => {
                let task = Task::Subject(f.subject.clone());
                let label = self.label(f.file, &task);
                self.busy.remove(&(f.file, task));
                let order = self.subject_order(f.file, &f.subject);
                let line = format!("{label}: could not be set up: {}", f.message);
                self.files[f.file].subjects.insert(order, line);
            }
            Event::CheckDone(r) => {
                self.busy.remove(&(r.file, Task::Check(r.index)));
                let log = &mut self.files[r.file];
                if r.outcome.passed() {
                    self.passed += 1;
                    log.passed += 1;
                } else {
                    self.failed += 1;
                    log.failed += 1;
                }
            }
            Event::FileDone { file } => {
                self.files[*file].done = true;
                if !self.live {
                    out.push_str(&self.flush(false));
                }
            }
        }
        if self.live {
            out.push_str(&self.redraw(now));
        }
        out
    }

    /// Redraws the live view (a terminal's clock tick); nothing elsewhere.
    pub fn tick(&mut self, now: Instant) -> String {
        if self.live {
            self.redraw(now)
        } else {
            String::new()
        }
    }

    /// The run is over: erases the live view, or prints the blocks not printed yet.
    pub fn finish(&mut self) -> String {
        if self.live {
            let out = self.erase();
            self.drawn = 0;
            out
        } else {
            self.flush(true)
        }
    }

    fn label(&self, file: usize, task: &Task) -> String {
        let f = &self.program.files[file];
        match task {
            Task::Subject(name) => {
                let kind = f.subject(name).map_or("subject", |s| s.kind.word());
                format!("{kind} {name}")
            }
            Task::Check(i) => f
                .checks
                .get(*i)
                .map_or_else(|| format!("check {i}"), |c| c.text.clone()),
        }
    }

    fn subject_order(&self, file: usize, name: &str) -> usize {
        self.program.files[file]
            .subjects
            .iter()
            .position(|s| s.name == name)
            .unwrap_or(usize::MAX)
    }

    /// The blocks of finished files, in file order, up to the first unfinished one (or all,
    /// at the end of the run).
    fn flush(&mut self, all: bool) -> String {
        let mut out = String::new();
        let total = self.files.len();
        while self.next < total && (all || self.files[self.next].done) {
            let i = self.next;
            let log = &self.files[i];
            let _ = writeln!(
                out,
                "[{}/{total}] {}: {} passed, {} failed{}",
                i + 1,
                self.program.files[i].path,
                log.passed,
                log.failed,
                if log.done { "" } else { " (not finished)" }
            );
            for line in log.subjects.values() {
                let _ = writeln!(out, "  {line}");
            }
            self.next += 1;
        }
        out
    }

    fn erase(&self) -> String {
        if self.drawn == 0 {
            String::new()
        } else {
            format!("\x1b[{}A\r\x1b[J", self.drawn)
        }
    }

    fn redraw(&mut self, now: Instant) -> String {
        let frame = self.frame(now);
        let out = format!("{}{frame}", self.erase());
        self.drawn = frame.lines().count();
        out
    }

    /// The live view: one row per busy task (longest busy first), then the counts.
    fn frame(&self, now: Instant) -> String {
        let mut rows: Vec<&Busy> = self.busy.values().collect();
        rows.sort_by_key(|b| b.since);
        let mut out = String::new();
        for b in rows.iter().take(MAX_ROWS) {
            let elapsed = secs(now.saturating_duration_since(b.since));
            let clock = match b.limit {
                Some(limit) => format!("{elapsed} / {}", secs(limit)),
                None => elapsed,
            };
            let what = if b.text.is_empty() {
                b.label.clone()
            } else {
                format!("{}: {}", b.label, b.text)
            };
            let room = self.width.saturating_sub(clock.chars().count() + 4);
            let _ = writeln!(out, "  {}  {clock}", fit(&what, room));
        }
        if rows.len() > MAX_ROWS {
            let _ = writeln!(out, "  … and {} more", rows.len() - MAX_ROWS);
        }
        let _ = writeln!(
            out,
            "{} passed, {} failed · {} busy · {}",
            self.passed,
            self.failed,
            rows.len(),
            secs(now.saturating_duration_since(self.started))
        );
        out
    }
}

/// `3.2s`.
fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// `s` in at most `room` characters, cut with an ellipsis.
fn fit(s: &str, room: usize) -> String {
    let s = s.replace(['\n', '\r', '\t'], " ");
    if s.chars().count() <= room {
        return s;
    }
    let mut t: String = s.chars().take(room.saturating_sub(1)).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::Options;
    use crate::report::event::Progress;
    use crate::report::{CheckResult, Outcome, SetupFailure};
    use crate::source::SourceMap;

    fn program() -> Arc<Program> {
        let mut sources = SourceMap::new();
        let specs = [
            (
                "a.dspec",
                "image app = build \".\"\ncontainer api = run app\nexpect app.built\nexpect api.health == \"healthy\" within 30s\n",
            ),
            ("b.dspec", "image web = build \".\"\nexpect web.built\n"),
        ];
        let asts: Vec<_> = specs
            .iter()
            .map(|(p, t)| {
                let id = sources.add(p, t.to_string());
                crate::parse::parse_file(sources.get(id)).0.expect("parses")
            })
            .collect();
        let (program, diags) = crate::compile::compile(&asts, &sources, &Options::default());
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        Arc::new(program)
    }

    fn progress(file: usize, task: Task, activity: Activity) -> Event {
        Event::Progress(Progress {
            file,
            task,
            activity,
        })
    }

    fn subject(name: &str) -> Task {
        Task::Subject(name.to_string())
    }

    fn done(file: usize, index: usize, passed: bool) -> Event {
        let outcome = if passed {
            Outcome::Passed {
                actual: None,
                samples: 1,
                at_ms: None,
            }
        } else {
            Outcome::Errored {
                message: "x".into(),
            }
        };
        Event::CheckDone(CheckResult {
            file,
            index,
            outcome,
            duration: Duration::ZERO,
            quiet: false,
        })
    }

    fn events() -> Vec<Event> {
        let ms = Duration::from_millis;
        vec![
            progress(
                0,
                subject("app"),
                Activity::Working {
                    text: "build step 1/2: FROM scratch".into(),
                },
            ),
            progress(
                1,
                subject("web"),
                Activity::Ready {
                    text: "built".into(),
                    took: ms(1200),
                },
            ),
            done(1, 0, true),
            Event::FileDone { file: 1 },
            progress(
                0,
                subject("app"),
                Activity::Ready {
                    text: "built".into(),
                    took: ms(2000),
                },
            ),
            Event::SetupFailed(SetupFailure {
                file: 0,
                subject: "api".into(),
                message: "exited with code 3".into(),
                output: Vec::new(),
                infrastructure: false,
            }),
            done(0, 0, true),
            done(0, 1, false),
            Event::FileDone { file: 0 },
        ]
    }

    /// Plain output, with the events fed in `order`.
    fn plain(order: &[usize]) -> String {
        let all = events();
        let mut view = ProgressView::new(program(), false, false, 80);
        let now = Instant::now();
        let mut out = String::new();
        for &i in order {
            out.push_str(&view.event(&all[i], now));
        }
        out + &view.finish()
    }

    #[test]
    fn plain_blocks_come_in_file_order_whatever_order_work_finished_in() {
        let expected = "[1/2] a.dspec: 1 passed, 1 failed\n  image app: built in 2.0s\n  container api: could not be set up: exited with code 3\n[2/2] b.dspec: 1 passed, 0 failed\n  image web: built in 1.2s\n";
        assert_eq!(plain(&[0, 1, 2, 3, 4, 5, 6, 7, 8]), expected);
        // File b finished first: its block waits for a's.
        assert_eq!(plain(&[1, 2, 3, 0, 5, 4, 7, 6, 8]), expected);
        // Interrupted: what is known is printed, marked.
        assert_eq!(
            plain(&[1, 2, 3, 0]),
            "[1/2] a.dspec: 0 passed, 0 failed (not finished)\n[2/2] b.dspec: 1 passed, 0 failed\n  image web: built in 1.2s\n"
        );
    }

    #[test]
    fn the_live_view_shows_what_is_busy_and_the_counts_and_erases_itself() {
        let mut view = ProgressView::new(program(), true, false, 60);
        let t0 = Instant::now();
        let all = events();
        let first = view.event(&all[0], t0);
        assert_eq!(
            first,
            "  image app: build step 1/2: FROM scratch  0.0s\n0 passed, 0 failed · 1 busy · 0.0s\n"
        );
        let wait = progress(
            0,
            Task::Check(1),
            Activity::Waiting {
                limit: Duration::from_secs(30),
            },
        );
        let _ = view.event(&wait, t0 + Duration::from_secs(1));
        let _ = view.event(&all[2], t0 + Duration::from_secs(1));
        let frame = view.tick(t0 + Duration::from_secs(3));
        // Three lines are on screen: go up three, clear, draw the new frame.
        assert_eq!(
            frame,
            "\x1b[3A\r\x1b[J  image app: build step 1/2: FROM scratch  3.0s\n  expect api.health == \"healthy\" within 30s  2.0s / 30.0s\n1 passed, 0 failed · 2 busy · 3.0s\n"
        );
        assert_eq!(view.finish(), "\x1b[3A\r\x1b[J");
    }

    #[test]
    fn long_rows_are_cut_to_the_terminal() {
        let mut view = ProgressView::new(program(), true, false, 30);
        let long = progress(
            0,
            subject("app"),
            Activity::Working {
                text: "build step 1/2: COPY a-very-long-path/ /somewhere/else/".into(),
            },
        );
        let frame = view.event(&long, Instant::now());
        let row = frame.lines().next().unwrap();
        assert_eq!(row.chars().count(), 30, "{row:?}");
        assert!(row.contains('…'), "{row:?}");
    }
}
