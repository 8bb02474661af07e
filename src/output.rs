//! Standard output and standard error: writes that never panic on a closed
//! pipe (`dspec fmt --check | head -2`), `-q`, and whether to colour each
//! stream.
//!
//! `println!` and `eprintln!` panic when the other end of a pipe has gone;
//! nothing in dspec uses them (clippy's `print_stdout`/`print_stderr` are
//! denied in the crate). Everything goes through [`out`] and [`err`], which
//! drop what a closed pipe cannot take: the reader has stopped reading, and
//! the exit code still tells the outcome.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::diag::ColorChoice;

static QUIET: AtomicBool = AtomicBool::new(false);

/// `-q`: status lines ([`note`]) are not printed.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `-q` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Writes to standard output; a closed pipe is not an error.
pub fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    let _ = o.flush();
}

/// Writes to standard error; a closed pipe is not an error.
pub fn err(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// A status line on standard error that `-q` silences (`formatted x.dspec`,
/// `valid: 3 files: ...`). Errors and diagnostics never go through here.
pub fn note(text: &str) {
    if !quiet() {
        err(text);
    }
}

/// `outln!(...)`: [`out`] with a newline.
macro_rules! outln {
    ($($t:tt)*) => { $crate::output::out(&format!("{}\n", format_args!($($t)*))) };
}

/// `errln!(...)`: [`err`] with a newline.
macro_rules! errln {
    ($($t:tt)*) => { $crate::output::err(&format!("{}\n", format_args!($($t)*))) };
}

/// `noteln!(...)`: [`note`] with a newline.
macro_rules! noteln {
    ($($t:tt)*) => { $crate::output::note(&format!("{}\n", format_args!($($t)*))) };
}

pub(crate) use {errln, noteln, outln};

/// The two streams dspec writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn is_terminal(self) -> bool {
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        }
    }
}

/// Whether to colour what is written to `stream`.
///
/// `--color always|never` decides alone. `auto` follows the conventions that
/// clap's own help follows (<https://no-color.org>, <https://bixense.com/clicolors/>):
/// `NO_COLOR` (non-empty) turns colour off; else `CLICOLOR_FORCE` (not `0`)
/// turns it on, even into a pipe or a file; else `CLICOLOR=0` turns it off;
/// else the stream must be a terminal, and `TERM` must not be `dumb`.
pub fn color(choice: ColorChoice, stream: Stream) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => auto_color(stream.is_terminal()),
    }
}

fn auto_color(terminal: bool) -> bool {
    let clicolor = anstyle_query::clicolor();
    if anstyle_query::no_color() {
        false
    } else if std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
        true
    } else if clicolor == Some(false) {
        false
    } else {
        // As anstream (clap's help) decides: a terminal whose TERM is set and
        // not `dumb`, or any terminal when CLICOLOR=1 or in CI.
        terminal
            && (anstyle_query::term_supports_color()
                || clicolor == Some(true)
                || anstyle_query::is_ci())
    }
}

/// Whether cursor movements may be written to `stream` (the live progress
/// view): a terminal that is not `TERM=dumb`.
pub fn live(stream: Stream) -> bool {
    stream.is_terminal() && std::env::var("TERM").as_deref() != Ok("dumb")
}
