//! Choosing what runs: `--only` expressions over stories, criteria,
//! subjects, files and tags, and `--partition` of spec files across CI
//! runners.

mod only;
mod partition;

pub use only::{Expr, parse_only};
pub use partition::{Partition, parse_partition};

use crate::compile::{Program, SubjectSpec};

/// Keeps the checks `expr` selects; subjects nothing selected reaches are
/// no longer set up. Files left without checks are dropped.
pub fn apply(program: &Program, expr: &Expr) -> Program {
    let mut out = Program::default();
    for f in &program.files {
        let mut file = f.clone();
        file.checks = f
            .checks
            .iter()
            .filter(|c| {
                let crit = c.criterion.map(|i| &f.criteria[i]);
                expr.matches(&only::Item {
                    story: f.story.as_ref().map(|s| s.id.as_str()),
                    criterion: crit.map(|c| c.id.as_str()),
                    tags: crit.map(|c| c.tags.as_slice()).unwrap_or(&[]),
                    subjects: &c.touches,
                    file: &f.path,
                })
            })
            .cloned()
            .collect();
        if file.checks.is_empty() {
            continue;
        }
        for (i, c) in file.checks.iter_mut().enumerate() {
            c.index = i;
        }
        let mut used: Vec<String> = file.checks.iter().flat_map(|c| c.touches.clone()).collect();
        let mut i = 0;
        while i < used.len() {
            let needs: Vec<String> = match file.subject(&used[i]).map(|s| &s.spec) {
                Some(SubjectSpec::Run(r)) => vec![r.image.clone()],
                // A request needs its container and the requests it captures from.
                Some(SubjectSpec::Request(r)) => std::iter::once(r.container.clone())
                    .chain(r.captures.iter().cloned())
                    .collect(),
                _ => Vec::new(),
            };
            for n in needs {
                if !used.contains(&n) {
                    used.push(n);
                }
            }
            i += 1;
        }
        for s in &mut file.subjects {
            s.used = used.contains(&s.name);
        }
        out.files.push(file);
    }
    out
}
