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
                    subject: &c.subject,
                    also: &c.also_touches,
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
        let mut used: Vec<String> = file
            .checks
            .iter()
            .flat_map(|c| c.touches().cloned())
            .collect();
        let mut i = 0;
        // What a used subject needs is used too: a container's or task's image, the subjects
        // its settings name, the host commands and tasks it runs `after`.
        while i < used.len() {
            if let Some(spec) = file.subject(&used[i]).map(|s| &s.spec) {
                let image = match spec {
                    SubjectSpec::Run(r) => Some(&r.image),
                    SubjectSpec::Task(t) => Some(&t.run.image),
                    // A request needs its container, and the requests it captures from.
                    SubjectSpec::Request(r) => Some(&r.container),
                    _ => None,
                };
                let captures: &[String] = match spec {
                    SubjectSpec::Request(r) => &r.captures,
                    _ => &[],
                };
                for n in image
                    .into_iter()
                    .chain(spec.refers_to())
                    .chain(spec.after())
                    .chain(captures)
                {
                    if !used.contains(n) {
                        used.push(n.clone());
                    }
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
