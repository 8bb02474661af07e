//! Follows the legacy builder's text output: splits it into lines, reports `Step N/M` headers,
//! and keeps the current step's last lines for the error of a failing build.

use std::collections::VecDeque;

use super::types::BuildProgress;

/// How many output lines of the failing step an error carries.
pub(crate) const TAIL_LINES: usize = 20;

/// State of the output of one build.
#[derive(Debug, Default)]
pub(crate) struct BuildLog {
    partial: String,
    lines: Vec<String>,
    step: Option<String>,
    step_tail: VecDeque<String>,
}

impl BuildLog {
    /// Feeds one `stream` text of the build output (it may hold several lines, or part of
    /// one: a step header and its newline arrive as two messages).
    pub(crate) fn push(&mut self, text: &str, on_progress: &mut (dyn FnMut(BuildProgress) + Send)) {
        self.partial.push_str(text);
        while let Some(pos) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=pos).collect();
            self.line(line.trim_end_matches(['\n', '\r']), on_progress);
        }
    }

    /// Flushes a last line that had no newline.
    pub(crate) fn finish(&mut self, on_progress: &mut (dyn FnMut(BuildProgress) + Send)) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(line.trim_end_matches('\r'), on_progress);
        }
    }

    fn line(&mut self, line: &str, on_progress: &mut (dyn FnMut(BuildProgress) + Send)) {
        self.lines.push(line.to_string());
        if let Some((number, total, instruction)) = parse_step(line) {
            self.step = Some(line.to_string());
            self.step_tail.clear();
            on_progress(BuildProgress::Step {
                number,
                total,
                instruction,
            });
            return;
        }
        if !is_bookkeeping(line) {
            if self.step_tail.len() == TAIL_LINES {
                self.step_tail.pop_front();
            }
            self.step_tail.push_back(line.to_string());
        }
        on_progress(BuildProgress::Output(line.to_string()));
    }

    /// The header of the step running now (the failing one, after an error).
    pub(crate) fn current_step(&self) -> Option<String> {
        self.step.clone()
    }

    /// The last output lines of the current step, without the builder's own lines.
    pub(crate) fn step_tail(&self) -> Vec<String> {
        self.step_tail.iter().cloned().collect()
    }

    /// The short image ID of a `Successfully built abc123` line, if there was one.
    pub(crate) fn built_short_id(&self) -> Option<String> {
        self.lines
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("Successfully built "))
            .map(|s| s.trim().to_string())
    }

    /// Every line so far.
    pub(crate) fn into_lines(self) -> Vec<String> {
        self.lines
    }
}

/// Parses `Step 3/20 : RUN make` into `(3, 20, "RUN make")`.
pub(crate) fn parse_step(line: &str) -> Option<(u32, u32, String)> {
    let rest = line.strip_prefix("Step ")?;
    let (counts, instruction) = rest.split_once(" : ")?;
    let (n, m) = counts.split_once('/')?;
    Some((n.parse().ok()?, m.parse().ok()?, instruction.to_string()))
}

/// Lines the legacy builder prints about itself rather than about the command.
fn is_bookkeeping(line: &str) -> bool {
    line.starts_with(" ---> ")
        || line.starts_with("Removing intermediate container ")
        || line.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(chunks: &[&str]) -> (BuildLog, Vec<BuildProgress>) {
        let mut events = Vec::new();
        let mut log = BuildLog::default();
        let mut on = |p: BuildProgress| events.push(p);
        for c in chunks {
            log.push(c, &mut on);
        }
        log.finish(&mut on);
        (log, events)
    }

    #[test]
    fn parses_step_headers() {
        assert_eq!(
            parse_step("Step 3/7 : RUN exit 3"),
            Some((3, 7, "RUN exit 3".into()))
        );
        assert_eq!(parse_step("Step x/7 : RUN"), None);
        assert_eq!(parse_step(" ---> Using cache"), None);
    }

    #[test]
    fn header_and_newline_in_separate_messages() {
        let (log, events) = feed(&[
            "Step 1/2 : FROM scratch",
            "\n",
            " ---> 5e4d3c\n",
            "Step 2/2 : RUN x",
            "\n",
            " ---> Running in 0123\n",
            "hello\nworld\n",
            "Removing intermediate container 0123\n",
        ]);
        assert_eq!(log.current_step().as_deref(), Some("Step 2/2 : RUN x"));
        assert_eq!(log.step_tail(), vec!["hello", "world"]);
        let steps: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                BuildProgress::Step { number, .. } => Some(*number),
                _ => None,
            })
            .collect();
        assert_eq!(steps, vec![1, 2]);
        assert_eq!(log.into_lines().len(), 7);
    }

    #[test]
    fn keeps_only_the_last_lines_of_a_step() {
        let many: String = (0..50).map(|i| format!("line {i}\n")).collect();
        let (log, _) = feed(&["Step 1/1 : RUN x\n", &many, "no newline"]);
        let tail = log.step_tail();
        assert_eq!(tail.len(), TAIL_LINES);
        assert_eq!(tail.first().map(String::as_str), Some("line 31"));
        assert_eq!(tail.last().map(String::as_str), Some("no newline"));
    }

    #[test]
    fn finds_the_built_id() {
        let (log, _) = feed(&["Successfully built 4a5b6c\n", "Successfully tagged x:1\n"]);
        assert_eq!(log.built_short_id().as_deref(), Some("4a5b6c"));
    }
}
