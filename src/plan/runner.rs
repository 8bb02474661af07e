//! Host commands and tasks in the plan: set up at their first need, after what they run
//! `after`, the containers their settings name, and the file's last `do NAME`.

use super::{Builder, StepId, StepKind, SubjectRef};
use crate::compile::SubjectSpec;

impl Builder {
    /// The setup step of a host command or task, created at its first need: after the
    /// containers its settings name are ready, the host commands and tasks it runs `after`
    /// finished, the file's last `do NAME`, and `extra`.
    pub(super) fn runner(
        &mut self,
        fi: usize,
        f: &crate::compile::CheckedFile,
        name: &str,
        extra: &[StepId],
    ) -> StepId {
        let me = SubjectRef {
            file: fi,
            name: name.to_string(),
        };
        if let Some(id) = self.setup.get(&me) {
            return *id;
        }
        let spec = &f.subject(name).expect("a subject of the file").spec;
        let mut deps: Vec<StepId> = extra.to_vec();
        deps.extend(self.file_barrier);
        for a in spec.after() {
            deps.push(self.runner(fi, f, a, &[]));
        }
        for r in spec.refers_to() {
            let rr = SubjectRef {
                file: fi,
                name: r.clone(),
            };
            deps.push(self.ready(&rr));
            deps.extend(self.barrier_deps(&rr, false));
        }
        let kind = match spec {
            SubjectSpec::Task(t) => {
                let image_step = self.setup[&SubjectRef {
                    file: fi,
                    name: t.run.image.clone(),
                }];
                deps.push(image_step);
                StepKind::Task { image_step }
            }
            SubjectSpec::Host(h) => StepKind::Host {
                command: h.command.to_string(),
            },
            _ => unreachable!("only host commands and tasks run"),
        };
        let id = self.push(kind, deps, vec![me.clone()], None, false);
        for r in spec.refers_to() {
            let rr = SubjectRef {
                file: fi,
                name: r.clone(),
            };
            if self.setup.contains_key(&rr) {
                self.touched(&rr, id, false);
            }
        }
        self.setup.insert(me, id);
        id
    }
}
