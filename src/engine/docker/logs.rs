//! Container output: stdout and stderr lines with their timestamps, merged in time order.

use std::time::{SystemTime, UNIX_EPOCH};

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;

use super::bollard_impl::Engine;
use super::errmap::Subject;
use super::error::EngineError;
use super::timestamp::parse_rfc3339;
use super::types::{LogLine, LogStream};

pub(crate) async fn logs(
    engine: &Engine,
    id: &str,
    tail: Option<usize>,
) -> Result<Vec<LogLine>, EngineError> {
    let tail = tail.map_or_else(|| "all".to_string(), |n| n.to_string());
    // Both streams must be asked for: the default (neither) is a 400 from the daemon.
    let opts = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .tail(&tail)
        .build();
    let mut stream = engine.docker.logs(id, Some(opts));
    let mut lines = Vec::new();
    let mut last_time = UNIX_EPOCH;
    while let Some(frame) = stream.next().await {
        let (kind, message) = match frame.map_err(|e| engine.err(e, Subject::Container(id)))? {
            LogOutput::StdErr { message } => (LogStream::Stderr, message),
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                (LogStream::Stdout, message)
            }
            LogOutput::StdIn { .. } => continue,
        };
        for raw in String::from_utf8_lossy(&message).split_terminator('\n') {
            let line = parse_line(kind, raw, last_time);
            last_time = line.timestamp;
            lines.push(line);
        }
    }
    // The daemon does not interleave the two streams reliably; the sort is stable, so lines
    // with equal timestamps keep their order.
    lines.sort_by_key(|l| l.timestamp);
    Ok(lines)
}

/// Splits `2024-05-01T12:00:00.123456789Z text` into time and text. A line without a valid
/// timestamp (continuation of a long line) gets `fallback`.
pub(crate) fn parse_line(stream: LogStream, raw: &str, fallback: SystemTime) -> LogLine {
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    let (timestamp, text) = match raw.split_once(' ') {
        Some((ts, text)) => match parse_rfc3339(ts) {
            Some(t) => (t, text),
            None => (fallback, raw),
        },
        None => match parse_rfc3339(raw) {
            Some(t) => (t, ""),
            None => (fallback, raw),
        },
    };
    LogLine {
        stream,
        timestamp,
        text: text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_timestamp_and_text() {
        let l = parse_line(
            LogStream::Stderr,
            "2024-05-01T12:00:00.5Z GET /x 200\r",
            UNIX_EPOCH,
        );
        assert_eq!(l.text, "GET /x 200");
        assert_eq!(
            l.timestamp,
            parse_rfc3339("2024-05-01T12:00:00.5Z").unwrap()
        );
        let empty = parse_line(LogStream::Stdout, "2024-05-01T12:00:00Z", UNIX_EPOCH);
        assert_eq!(empty.text, "");
    }

    #[test]
    fn keeps_lines_without_timestamp() {
        let l = parse_line(LogStream::Stdout, "no time here", UNIX_EPOCH);
        assert_eq!(l.text, "no time here");
        assert_eq!(l.timestamp, UNIX_EPOCH);
    }
}
