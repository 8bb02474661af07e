//! The execution plan: steps with dependencies, lowered from the checked
//! model. Identical builds become one step, even across files.

mod render;
mod runner;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

pub use render::render_human;

use crate::ast::SubjectKind;
use crate::compile::{Program, SubjectSpec};

pub type StepId = usize;

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// Build an image (shared by every subject with the same build key).
    Build {
        context: PathBuf,
        dockerfile: PathBuf,
        target: Option<String>,
        args: Vec<(String, String)>,
        platform: Option<String>,
        /// Stable hash of all of the above: names the built image's tag.
        hash: String,
        /// Files whose content the checks read (`file(PATH).content`).
        contents: Vec<String>,
    },
    /// Look up an image that must already exist.
    Inspect {
        reference: String,
        /// Files whose content the checks read.
        contents: Vec<String>,
    },
    /// Create and start a container.
    Run { image_step: StepId },
    /// Wait until a started container is ready: healthy when its image has a HEALTHCHECK,
    /// else running. Only expectations without `within` (and actions) wait for it.
    Ready { run_step: StepId },
    /// Resolve a compose stack's config, and bring it up when a check looks at a running
    /// service.
    Compose { files: Vec<PathBuf>, up: bool },
    /// Run a host command.
    Host { command: String },
    /// Make an HTTP request (once; under `within`/`for` each sample makes it again), after
    /// its container is ready and after the requests it captures from.
    Request {
        method: String,
        /// `api:8443 /health` as written (captures shown as `${...}`).
        target: String,
        /// The requests it captures from.
        captures: Vec<String>,
    },
    /// Run a task's container to completion.
    Task { image_step: StepId },
    /// Observe one expectation.
    Observe,
    /// Perform an action (`do`, `stop`, `kill`, `restart`).
    Action,
    /// Remove everything the run created.
    Cleanup,
}

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub id: StepId,
    #[serde(flatten)]
    pub kind: StepKind,
    pub deps: Vec<StepId>,
    /// The subjects it sets up or observes, as `file#name`.
    pub subjects: Vec<SubjectRef>,
    /// For observations and actions: the check it runs.
    pub check: Option<CheckRef>,
    /// Needs no running container.
    #[serde(rename = "static")]
    pub is_static: bool,
    /// Measures a time budget: runs with nothing else of the run in flight.
    pub quiet: bool,
    /// Steps with equal waves can run at the same time.
    pub wave: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct SubjectRef {
    pub file: usize,
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct CheckRef {
    pub file: usize,
    pub index: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// The step that sets a subject up.
    pub fn setup_step(&self, subject: &SubjectRef) -> Option<StepId> {
        self.steps
            .iter()
            .find(|s| s.check.is_none() && s.subjects.contains(subject))
            .map(|s| s.id)
    }

    pub fn waves(&self) -> usize {
        self.steps.iter().map(|s| s.wave + 1).max().unwrap_or(0)
    }
}

struct Builder {
    steps: Vec<Step>,
    setup: HashMap<SubjectRef, StepId>,
    /// Per container: its `Ready` step, once something needs it.
    ready: HashMap<SubjectRef, StepId>,
    /// Per subject: the last barrier and the steps since it.
    last_barrier: HashMap<SubjectRef, StepId>,
    since_barrier: HashMap<SubjectRef, Vec<StepId>>,
    /// Per dynamic subject, to keep file order: the last check that followed the ones before
    /// it, and the `within` checks since (they start early, so the next check waits for all).
    last_check: HashMap<SubjectRef, Vec<StepId>>,
    /// The current file's last `do NAME` (a barrier for the whole file), and its check steps
    /// so far.
    file_barrier: Option<StepId>,
    file_checks: Vec<StepId>,
}

impl Builder {
    fn push(
        &mut self,
        kind: StepKind,
        deps: Vec<StepId>,
        subjects: Vec<SubjectRef>,
        check: Option<CheckRef>,
        is_static: bool,
    ) -> StepId {
        let id = self.steps.len();
        let mut deps = deps;
        deps.sort_unstable();
        deps.dedup();
        let wave = deps
            .iter()
            .map(|d| self.steps[*d].wave + 1)
            .max()
            .unwrap_or(0);
        self.steps.push(Step {
            id,
            kind,
            deps,
            subjects,
            check,
            is_static,
            quiet: false,
            wave,
        });
        id
    }

    /// The step after which a container is ready (created on first need), or the setup step
    /// of any other subject.
    fn ready(&mut self, subject: &SubjectRef) -> StepId {
        let setup = self.setup[subject];
        if !matches!(self.steps[setup].kind, StepKind::Run { .. }) {
            return setup;
        }
        if let Some(id) = self.ready.get(subject) {
            return *id;
        }
        let id = self.push(
            StepKind::Ready { run_step: setup },
            vec![setup],
            vec![subject.clone()],
            None,
            false,
        );
        self.ready.insert(subject.clone(), id);
        id
    }

    /// Whether step `a` waits, directly or not, for step `b`.
    fn depends_on(&self, a: StepId, b: StepId) -> bool {
        let mut todo = vec![a];
        let mut seen = std::collections::HashSet::new();
        while let Some(s) = todo.pop() {
            if s == b {
                return true;
            }
            if seen.insert(s) {
                todo.extend(self.steps[s].deps.iter().copied());
            }
        }
        false
    }

    /// Barrier dependencies for touching `subject` now.
    fn barrier_deps(&self, subject: &SubjectRef, barrier: bool) -> Vec<StepId> {
        let mut deps: Vec<StepId> = self
            .last_barrier
            .get(subject)
            .copied()
            .into_iter()
            .collect();
        if barrier {
            deps.extend(
                self.since_barrier
                    .get(subject)
                    .into_iter()
                    .flatten()
                    .copied(),
            );
        }
        deps
    }

    fn touched(&mut self, subject: &SubjectRef, step: StepId, barrier: bool) {
        if barrier {
            self.last_barrier.insert(subject.clone(), step);
            self.since_barrier.insert(subject.clone(), Vec::new());
        } else {
            self.since_barrier
                .entry(subject.clone())
                .or_default()
                .push(step);
        }
    }
}

/// The step that makes request `name` of file `fi` (created on first need, after its
/// container is ready, after its container's last action, and after the requests it
/// captures from).
fn request_step(b: &mut Builder, f: &crate::compile::CheckedFile, fi: usize, name: &str) -> StepId {
    let me = SubjectRef {
        file: fi,
        name: name.to_string(),
    };
    if let Some(id) = b.setup.get(&me) {
        return *id;
    }
    let Some(SubjectSpec::Request(r)) = f.subject(name).map(|s| &s.spec) else {
        unreachable!("request_step on a request subject");
    };
    let container = SubjectRef {
        file: fi,
        name: r.container.clone(),
    };
    let mut deps = Vec::new();
    for other in &r.captures {
        deps.push(request_step(b, f, fi, other));
    }
    deps.push(b.ready(&container));
    deps.extend(b.barrier_deps(&container, false));
    // In file order with its container's other checks: a PUT before a DELETE stays so.
    deps.extend(b.last_check.get(&container).into_iter().flatten().copied());
    // After the `do NAME` before it in the file (a seed, a migration).
    deps.extend(b.file_barrier);
    let port = r.port.map(|p| format!(".port({p})")).unwrap_or_default();
    let id = b.push(
        StepKind::Request {
            method: r.method.clone(),
            target: format!("{}{port} {}", r.container, r.path),
            captures: r.captures.clone(),
        },
        deps,
        vec![me.clone()],
        None,
        false,
    );
    b.touched(&container, id, false);
    b.last_check.insert(container, vec![id]);
    b.setup.insert(me, id);
    id
}

/// Lowers a compiled program into a plan.
pub fn lower(program: &Program) -> Plan {
    let mut b = Builder {
        steps: Vec::new(),
        setup: HashMap::new(),
        ready: HashMap::new(),
        last_barrier: HashMap::new(),
        since_barrier: HashMap::new(),
        last_check: HashMap::new(),
        file_barrier: None,
        file_checks: Vec::new(),
    };
    let mut builds: HashMap<String, StepId> = HashMap::new();

    // Images first, deduplicated by build key.
    for (fi, f) in program.files.iter().enumerate() {
        for s in f
            .subjects
            .iter()
            .filter(|s| s.used && s.kind == SubjectKind::Image)
        {
            let sref = SubjectRef {
                file: fi,
                name: s.name.clone(),
            };
            let (key, kind) = match &s.spec {
                SubjectSpec::Build(bs) => {
                    let dockerfile = bs
                        .dockerfile
                        .clone()
                        .unwrap_or_else(|| bs.context.join("Dockerfile"));
                    let mut args: Vec<(String, String)> = bs
                        .args
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect();
                    args.sort();
                    let key = format!(
                        "build\0{}\0{}\0{:?}\0{:?}\0{:?}",
                        bs.context.display(),
                        dockerfile.display(),
                        bs.target,
                        args,
                        bs.platform
                    );
                    let hash = format!("{:016x}", crate::fnv::fnv1a(key.as_bytes()));
                    (
                        key,
                        StepKind::Build {
                            hash,
                            context: bs.context.clone(),
                            dockerfile,
                            target: bs.target.clone(),
                            args,
                            platform: bs.platform.clone(),
                            contents: Vec::new(),
                        },
                    )
                }
                SubjectSpec::Existing { reference } => (
                    format!("existing\0{reference}"),
                    StepKind::Inspect {
                        reference: reference.to_string(),
                        contents: Vec::new(),
                    },
                ),
                _ => continue,
            };
            let id = match builds.get(&key) {
                Some(id) => {
                    b.steps[*id].subjects.push(sref.clone());
                    *id
                }
                None => {
                    let id = b.push(kind, Vec::new(), vec![sref.clone()], None, true);
                    builds.insert(key, id);
                    id
                }
            };
            b.setup.insert(sref, id);
        }
    }
    order_builds_by_tag(&mut b, program);

    for (fi, f) in program.files.iter().enumerate() {
        let sref = |name: &str| SubjectRef {
            file: fi,
            name: name.to_string(),
        };
        // Containers (after the containers their settings name) and stacks.
        for s in start_order(f) {
            let me = sref(&s.name);
            let id = match &s.spec {
                SubjectSpec::Run(r) => {
                    let image_step = b.setup[&sref(&r.image)];
                    let mut deps = vec![image_step];
                    for other in &r.refers_to {
                        deps.push(b.ready(&sref(other)));
                    }
                    b.push(
                        StepKind::Run { image_step },
                        deps,
                        vec![me.clone()],
                        None,
                        false,
                    )
                }
                SubjectSpec::Compose(c) => {
                    let deps = c.refers_to.iter().map(|o| b.ready(&sref(o))).collect();
                    b.push(
                        StepKind::Compose {
                            files: c.files.clone(),
                            up: false,
                        },
                        deps,
                        vec![me.clone()],
                        None,
                        false,
                    )
                }
                _ => continue,
            };
            b.setup.insert(me, id);
        }
        // Checks, in file order; host commands and tasks start at their first need, and a
        // `do NAME` runs its command or task after every check before it, and before every
        // check after it.
        b.file_barrier = None;
        b.file_checks = Vec::new();
        for c in &f.checks {
            let me = sref(&c.subject);
            let subject = f
                .subject(&c.subject)
                .expect("a check's subject is in its file");
            if matches!(subject.spec, SubjectSpec::Host(_) | SubjectSpec::Task(_)) {
                let earlier = if c.runs {
                    b.file_checks.clone()
                } else {
                    Vec::new()
                };
                b.runner(fi, f, &c.subject, &earlier);
            }
            if matches!(subject.spec, SubjectSpec::Request(_)) {
                request_step(&mut b, f, fi, &c.subject);
            }
            let dynamic = matches!(c.subject_kind, SubjectKind::Container | SubjectKind::Stack);
            // A `within` expectation polls from its subject's start or last action: it waits
            // for neither readiness nor the expectations before it.
            let mut deps = vec![if c.anchored() {
                b.setup[&me]
            } else {
                b.ready(&me)
            }];
            // The other images a call names (`based_on(base)`) are read when it is judged.
            for other in &c.also_touches {
                if matches!(
                    f.subject(other).map(|s| &s.spec),
                    Some(SubjectSpec::Build(_) | SubjectSpec::Existing { .. })
                ) {
                    deps.push(b.setup[&sref(other)]);
                }
            }
            let touches: Vec<SubjectRef> = match &subject.spec {
                _ if dynamic => vec![me.clone()],
                // A request (each of its `within` samples) keeps its place among its
                // container's actions.
                SubjectSpec::Request(r) => vec![sref(&r.container)],
                _ => Vec::new(),
            };
            for t in &touches {
                deps.extend(b.barrier_deps(t, c.barrier));
            }
            if dynamic && !c.anchored() {
                deps.extend(b.last_check.get(&me).into_iter().flatten().copied());
            }
            deps.extend(b.file_barrier);
            if c.runs {
                deps.extend(b.file_checks.iter().copied());
            }
            let kind = if c.barrier || c.action_only {
                StepKind::Action
            } else {
                StepKind::Observe
            };
            let id = b.push(
                kind,
                deps,
                vec![me.clone()],
                Some(CheckRef {
                    file: fi,
                    index: c.index,
                }),
                c.is_static(),
            );
            for t in &touches {
                b.touched(t, id, c.barrier);
            }
            b.file_checks.push(id);
            if c.runs {
                b.file_barrier = Some(id);
            }
            if dynamic && c.anchored() {
                b.last_check.entry(me).or_default().push(id);
            } else if dynamic {
                b.last_check.insert(me, vec![id]);
            }
        }
    }
    mark_needs(&mut b, program);
    mark_quiet(&mut b, program);
    if b.steps.iter().any(|s| {
        matches!(
            s.kind,
            StepKind::Run { .. }
                | StepKind::Task { .. }
                | StepKind::Compose { .. }
                | StepKind::Build { .. }
        )
    }) {
        let all: Vec<StepId> = (0..b.steps.len()).collect();
        b.push(StepKind::Cleanup, all, Vec::new(), None, false);
    }
    Plan { steps: b.steps }
}

/// The used containers and stacks of a file, each container after the containers its
/// settings name (the compiler rejects circles).
/// A build whose Dockerfile starts `FROM` the `tag` of another image the run builds, and an
/// `existing` image naming such a tag, wait for that build (builds otherwise run at once, and
/// dspec never pulls). A circle of such references is left to fail as "not in the engine".
fn order_builds_by_tag(b: &mut Builder, program: &Program) {
    let normal = |r: &str| {
        let name = r.rsplit('/').next().unwrap_or(r);
        if name.contains(':') || r.contains('@') {
            r.to_string()
        } else {
            format!("{r}:latest")
        }
    };
    let mut tagged: HashMap<String, StepId> = HashMap::new();
    for (fi, f) in program.files.iter().enumerate() {
        for s in f.subjects.iter().filter(|s| s.used) {
            let SubjectSpec::Build(bs) = &s.spec else {
                continue;
            };
            let sref = SubjectRef {
                file: fi,
                name: s.name.clone(),
            };
            for t in &bs.tags {
                tagged.insert(normal(t), b.setup[&sref]);
            }
        }
    }
    if tagged.is_empty() {
        return;
    }
    for id in 0..b.steps.len() {
        let names: Vec<String> = match &b.steps[id].kind {
            StepKind::Build {
                dockerfile, args, ..
            } => std::fs::read_to_string(dockerfile)
                .map(|text| {
                    crate::engine::dockerfile::base_images(&text, args)
                        .into_iter()
                        .map(|(name, _)| name)
                        .collect()
                })
                .unwrap_or_default(),
            StepKind::Inspect { reference, .. } => vec![reference.clone()],
            _ => continue,
        };
        for name in names {
            if let Some(&dep) = tagged.get(&normal(&name))
                && dep != id
                && !b.depends_on(dep, id)
                && !b.steps[id].deps.contains(&dep)
            {
                b.steps[id].deps.push(dep);
            }
        }
    }
    // Only image steps exist yet; their waves follow the new edges (there is no circle).
    let mut changed = true;
    while changed {
        changed = false;
        for id in 0..b.steps.len() {
            let wave = b.steps[id]
                .deps
                .iter()
                .map(|d| b.steps[*d].wave + 1)
                .max()
                .unwrap_or(0);
            if wave != b.steps[id].wave {
                b.steps[id].wave = wave;
                changed = true;
            }
        }
    }
}

fn start_order(f: &crate::compile::CheckedFile) -> Vec<&crate::compile::SubjectDef> {
    let mut out: Vec<&crate::compile::SubjectDef> = Vec::new();
    let mut placed: std::collections::HashSet<&str> = std::collections::HashSet::new();
    fn place<'a>(
        f: &'a crate::compile::CheckedFile,
        s: &'a crate::compile::SubjectDef,
        out: &mut Vec<&'a crate::compile::SubjectDef>,
        placed: &mut std::collections::HashSet<&'a str>,
    ) {
        if !placed.insert(s.name.as_str()) {
            return;
        }
        let refers = match &s.spec {
            SubjectSpec::Run(r) => r.refers_to.as_slice(),
            SubjectSpec::Compose(c) => c.refers_to.as_slice(),
            _ => &[],
        };
        for other in refers {
            if let Some(o) = f.subject(other).filter(|o| o.used) {
                place(f, o, out, placed);
            }
        }
        out.push(s);
    }
    for s in f
        .subjects
        .iter()
        .filter(|s| s.used && matches!(s.spec, SubjectSpec::Run(_) | SubjectSpec::Compose(_)))
    {
        place(f, s, &mut out, &mut placed);
    }
    out
}

/// What setup steps must know of the checks after them: the files whose content an image's
/// checks read, and whether a stack's checks look at running services (`up`).
fn mark_needs(b: &mut Builder, program: &Program) {
    // A container joining a stack's network needs the stack up.
    for (fi, f) in program.files.iter().enumerate() {
        for s in f.subjects.iter().filter(|s| s.used) {
            let r = match &s.spec {
                SubjectSpec::Run(r) => r,
                SubjectSpec::Task(t) => &t.run,
                _ => continue,
            };
            for (stack, _) in &r.stack_networks {
                let key = SubjectRef {
                    file: fi,
                    name: stack.clone(),
                };
                if let Some(&id) = b.setup.get(&key)
                    && let StepKind::Compose { up, .. } = &mut b.steps[id].kind
                {
                    *up = true;
                }
            }
        }
    }
    for i in 0..b.steps.len() {
        let Some(c) = b.steps[i].check else { continue };
        let check = &program.files[c.file].checks[c.index];
        let Some(setup) = b.setup.get(&b.steps[i].subjects[0]).copied() else {
            continue;
        };
        match &mut b.steps[setup].kind {
            StepKind::Build { contents, .. } | StepKind::Inspect { contents, .. } => {
                if let Some(crate::compile::value::Val::Text(t)) = check.image_content() {
                    let path = t.to_string();
                    if !contents.contains(&path) {
                        contents.push(path);
                    }
                }
            }
            StepKind::Compose { up, .. } => *up |= check.needs_stack_up(),
            _ => {}
        }
    }
}

/// Marks the steps a time budget measures: they run in a quiet slot.
fn mark_quiet(b: &mut Builder, program: &Program) {
    use crate::compile::Budget;
    let mut quiet = Vec::new();
    for st in &b.steps {
        let Some(c) = st.check else { continue };
        let check = &program.files[c.file].checks[c.index];
        let subject = &st.subjects[0];
        match check.budget() {
            Some(Budget::Check) => {
                quiet.push(st.id);
                // A request's `duration` is measured when its step makes it.
                if let Some(&setup) = b.setup.get(subject)
                    && matches!(b.steps[setup].kind, StepKind::Request { .. })
                {
                    quiet.push(setup);
                }
            }
            Some(Budget::Build | Budget::Command) => quiet.extend(b.setup.get(subject).copied()),
            Some(Budget::Startup) => {
                quiet.extend(b.setup.get(subject).copied());
                quiet.extend(b.ready.get(subject).copied());
            }
            None => {}
        }
    }
    for id in quiet {
        b.steps[id].quiet = true;
    }
}
