//! AST → checked model. Resolves names, checks every setting and every
//! expectation against the property catalogue, and collects ALL errors.

pub mod argv;
mod checks;
pub mod model;
mod order;
pub mod property;
mod request_spec;
mod resolve;
pub mod settings;
mod subjects;
pub mod types;
pub mod value;

use std::borrow::Cow;
use std::collections::HashMap;

pub use model::*;

use crate::ast::{self, Item, SpecFile, SubjectKind};
use crate::diag::{Code, Diagnostic, suggest};
use crate::source::{SourceMap, Span};
use value::Val;

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--var NAME=VALUE`: interpolated by `${NAME}`, overriding a `let`.
    pub vars: Vec<(String, String)>,
}

/// Compiles parsed files. The program holds every file that compiled
/// cleanly; the diagnostics hold every error and warning found.
pub fn compile(
    files: &[SpecFile],
    sources: &SourceMap,
    opts: &Options,
) -> (Program, Vec<Diagnostic>) {
    compile_each(files.iter().map(Cow::Borrowed), sources, opts)
}

/// [`compile`] of files it may consume: each statement of a file is dropped once it is
/// compiled, so a large file's syntax tree and its compiled checks are not both held whole
/// (`dspec validate` of a 50 MB spec).
pub fn compile_owned(
    files: Vec<SpecFile>,
    sources: &SourceMap,
    opts: &Options,
) -> (Program, Vec<Diagnostic>) {
    compile_each(files.into_iter().map(Cow::Owned), sources, opts)
}

fn compile_each<'a>(
    files: impl Iterator<Item = Cow<'a, SpecFile>>,
    sources: &'a SourceMap,
    opts: &'a Options,
) -> (Program, Vec<Diagnostic>) {
    let mut program = Program::default();
    let mut diags = Vec::new();
    for f in files {
        let mut c = FileCompiler::new(f, sources, opts);
        let checked = c.run();
        let failed = c.diags.iter().any(Diagnostic::is_error);
        diags.append(&mut c.diags);
        if !failed {
            program.files.push(checked);
        }
    }
    (program, diags)
}

/// A name declared in a file.
#[derive(Clone, Debug)]
pub(crate) struct Declared {
    pub kind: SubjectKind,
    pub span: Span,
    /// Its place in the compiled subjects, once compiled (pass 2).
    pub pos: Option<usize>,
}

pub(crate) struct FileCompiler<'a> {
    /// Owned when the caller gave it up: its statements are then dropped as they compile.
    /// While `run` works, the statements are out of here (in its local `ast`, so that the
    /// passes can borrow `self` mutably): code called from the passes must not read
    /// `self.ast.items`; `self.ast.file` stays right.
    pub ast: Cow<'a, SpecFile>,
    pub sources: &'a SourceMap,
    pub opts: &'a Options,
    pub diags: Vec<Diagnostic>,
    pub lets: HashMap<String, (Option<Val>, Span)>,
    pub subjects: HashMap<String, Declared>,
    /// While a request subject is compiled: captures (`${login.json.token}`) are allowed,
    /// and those found are collected here.
    pub captures: Option<Vec<(String, Span)>>,
    /// Bytes that `${}` has copied into strings so far (bounded: see `resolve::MAX_EXPANDED`).
    pub expanded: usize,
}

impl<'a> FileCompiler<'a> {
    fn new(ast: Cow<'a, SpecFile>, sources: &'a SourceMap, opts: &'a Options) -> FileCompiler<'a> {
        FileCompiler {
            ast,
            sources,
            opts,
            diags: Vec::new(),
            lets: HashMap::new(),
            subjects: HashMap::new(),
            captures: None,
            expanded: 0,
        }
    }

    pub fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The compiled subject named `name` (from pass 2 on), found without a scan: a large
    /// file has many subjects and many checks that look theirs up.
    pub(crate) fn def<'s>(&self, subjects: &'s [SubjectDef], name: &str) -> Option<&'s SubjectDef> {
        subjects.get(self.subjects.get(name)?.pos?)
    }

    pub fn text(&self, span: Span) -> &'a str {
        self.sources.snippet(span)
    }

    fn run(&mut self) -> CheckedFile {
        let source = self.sources.get(self.ast.file);
        // The statements, out of `self` so that the passes may borrow it mutably; an owned
        // file's statements are dropped one by one in pass 3.
        let file = self.ast.file;
        let mut ast = std::mem::replace(
            &mut self.ast,
            Cow::Owned(SpecFile {
                file,
                items: Vec::new(),
                deferred: Vec::new(),
            }),
        );
        let mut story = None;
        let mut story_span: Option<Span> = None;
        let mut criteria: Vec<CriterionInfo> = Vec::new();
        let mut criterion_spans: HashMap<String, Span> = HashMap::new();

        // Pass 1: names.
        for item in &ast.items {
            match item {
                Item::Story(s) => {
                    if let Some(first) = story_span {
                        self.error(
                            Diagnostic::error(Code::Duplicate, s.span, "a file has one `story`")
                                .label("second story")
                                .secondary(first, "first story here")
                                .help("split the file: one story per spec file"),
                        );
                    } else {
                        story_span = Some(s.span);
                        story = Some(StoryInfo {
                            id: self.plain_string(&s.id),
                            title: s.title.as_ref().map(|t| self.plain_string(t)),
                        });
                    }
                }
                Item::Let(l) => {
                    if self.check_new_name(&l.name, "let") {
                        let v = self.eval(&l.value);
                        let v = match self.opts.vars.iter().find(|(k, _)| *k == l.name.name) {
                            Some((_, text)) => Some(Val::Text(value::Text::lit(text.clone()))),
                            None => v,
                        };
                        self.lets.insert(l.name.name.clone(), (v, l.name.span));
                    }
                }
                Item::Subject(s) => {
                    if self.check_new_name(&s.name, s.kind.word()) {
                        self.subjects.insert(
                            s.name.name.clone(),
                            Declared {
                                kind: s.kind,
                                span: s.name.span,
                                pos: None,
                            },
                        );
                    }
                }
                Item::Criterion(c) => {
                    if let Some(first) = criterion_spans.get(&c.id.name) {
                        self.error(
                            Diagnostic::error(
                                Code::Duplicate,
                                c.id.span,
                                format!("criterion `{}` is defined twice", c.id.name),
                            )
                            .label("second definition")
                            .secondary(*first, "first defined here")
                            .help("give each acceptance criterion its own id"),
                        );
                    } else {
                        criterion_spans.insert(c.id.name.clone(), c.id.span);
                    }
                    let mut tags = Vec::new();
                    for a in &c.attributes {
                        if a.name.name == "tag" && !a.args.is_empty() {
                            tags.extend(a.args.iter().map(|k| k.text.clone()));
                        } else if a.name.name == "tag" {
                            self.error(
                                Diagnostic::error(
                                    Code::UnknownSetting,
                                    a.span,
                                    "`@tag` needs at least one name",
                                )
                                .label("no tag")
                                .help("write `@tag security` (several names may follow)"),
                            );
                        } else {
                            self.error(
                                Diagnostic::error(
                                    Code::UnknownSetting,
                                    a.name.span,
                                    format!("unknown attribute `@{}`", a.name.name),
                                )
                                .label("not an attribute dspec knows")
                                .help(suggest::help_for(
                                    &a.name.name,
                                    &["tag"],
                                    "attributes",
                                )),
                            );
                        }
                    }
                    criteria.push(CriterionInfo {
                        id: c.id.name.clone(),
                        title: c.title.as_ref().map(|t| self.plain_string(t)),
                        tags,
                    });
                }
                Item::Expect(_) | Item::Do(_) => {}
            }
        }

        // Pass 2: subjects. A lean tree is not read again after it (pass 3 parses its
        // statements again): each subject's syntax is dropped once compiled.
        let mut subjects = Vec::new();
        let mut pass2 = |c: &mut Self, item: &Item| {
            if let Item::Subject(s) = item
                && c.subjects.get(&s.name.name).map(|d| d.span) == Some(s.name.span)
                && let Some(def) = c.subject(s)
            {
                if let Some(d) = c.subjects.get_mut(&s.name.name) {
                    d.pos = Some(subjects.len());
                }
                subjects.push(def);
            }
        };
        match &mut ast {
            Cow::Owned(f) if !f.deferred.is_empty() => {
                for item in std::mem::take(&mut f.items) {
                    pass2(self, &item);
                }
            }
            _ => {
                for item in &ast.items {
                    pass2(self, item);
                }
            }
        }

        self.check_reference_cycles(&subjects);
        self.check_capture_cycles(&subjects);
        self.check_after_cycles(&subjects);

        // Pass 3: expectations and actions, in file order.
        let statements = ast
            .items
            .iter()
            .map(|i| match i {
                Item::Criterion(c) => c.body.len(),
                Item::Expect(_) | Item::Do(_) => 1,
                _ => 0,
            })
            .sum();
        let mut checks = Vec::with_capacity(statements);
        let mut stopped: HashMap<String, Span> = HashMap::new();
        let mut criterion_index = 0;
        let mut pass3 = |c: &mut Self, item: &Item| match item {
            Item::Expect(_) | Item::Do(_) => {
                c.statement(item, None, &subjects, &mut stopped, &mut checks)
            }
            Item::Criterion(cr) => {
                for inner in &cr.body {
                    c.statement(
                        inner,
                        Some(criterion_index),
                        &subjects,
                        &mut stopped,
                        &mut checks,
                    );
                }
                criterion_index += 1;
            }
            _ => {}
        };
        if !ast.deferred.is_empty() {
            // Parsed lean: the statements that hold expectations are parsed again here, one
            // at a time, and dropped once compiled; the rest of the tree is done with.
            let deferred = match ast {
                Cow::Owned(f) => f.deferred,
                Cow::Borrowed(f) => f.deferred.clone(),
            };
            for (start, end) in deferred {
                for item in crate::parse::reparse(source, start, end) {
                    pass3(self, &item);
                }
            }
        } else {
            match ast {
                Cow::Owned(f) => {
                    // Each statement is dropped once compiled.
                    for item in f.items {
                        pass3(self, &item);
                    }
                }
                Cow::Borrowed(f) => {
                    for item in &f.items {
                        pass3(self, item);
                    }
                }
            }
        }
        checks.shrink_to_fit();

        self.check_run_order(&subjects, &checks);
        let has_errors = self.diags.iter().any(Diagnostic::is_error);
        self.mark_used(&mut subjects, &checks, !has_errors);
        if checks.is_empty() && !has_errors {
            let at = Span {
                file: self.ast.file,
                start: 0,
                end: 0,
            };
            self.error(
                Diagnostic::warning(Code::NoExpectation, at, "this file holds no expectation")
                    .label("nothing here is checked")
                    .help("add `expect SUBJECT.PROPERTY ...` lines; `dspec check` refuses a run that checks nothing"),
            );
        }
        CheckedFile {
            file: self.ast.file,
            path: source.display_path(),
            dir: source.dir(),
            story,
            criteria,
            subjects,
            checks,
            by_name: std::sync::OnceLock::new(),
        }
    }

    fn plain_string(&mut self, s: &ast::StrLit) -> String {
        self.interpolate(s)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    /// A `let` or subject name not declared before in the file (each that passes is then
    /// declared in `lets` or `subjects`).
    fn check_new_name(&mut self, name: &ast::Ident, what: &str) -> bool {
        let first = match self.subjects.get(&name.name) {
            Some(d) => Some(d.span),
            None => self.lets.get(&name.name).map(|(_, span)| *span),
        };
        if let Some(first) = first {
            self.error(
                Diagnostic::error(
                    Code::Duplicate,
                    name.span,
                    format!("`{}` is already defined", name.name),
                )
                .label(format!("this {what} reuses the name"))
                .secondary(first, "first defined here")
                .help("subjects and `let`s share one namespace per file: rename one of them"),
            );
            return false;
        }
        true
    }

    fn statement(
        &mut self,
        item: &Item,
        criterion: Option<usize>,
        subjects: &[SubjectDef],
        stopped: &mut HashMap<String, Span>,
        checks: &mut Vec<Check>,
    ) {
        let check = match item {
            Item::Expect(e) => self.expectation(e, criterion, subjects, checks.len()),
            Item::Do(d) => self.action(d, criterion, subjects, checks.len()),
            _ => None,
        };
        let Some(mut check) = check else { return };
        // Consecutive expectations spelling the same action call on the same subject share
        // one performance of it (none under `within`/`for`: each sample performs again).
        if let (Some(n), None, Some(prev)) = (check.performs, &check.modifier, checks.last())
            && prev.subject == check.subject
            && prev.modifier.is_none()
            && prev.performs == Some(n)
            && prev.path[..n] == check.path[..n]
        {
            check.shares = Some(prev.shares.unwrap_or(prev.index));
        }
        for t in check.touches() {
            // After `stop`, the exited container is still read: only what needs its process
            // (or repeats the stop other than by sharing it) is an error.
            let reads_exited = *t == check.subject
                && (!check.needs_live_process() || (check.ends && check.shares.is_some()));
            if let Some(at) = stopped.get(t)
                && !reads_exited
            {
                let via = if *t == check.subject {
                    String::new()
                } else {
                    format!(" (through `{}`, whose settings refer to it)", check.subject)
                };
                self.error(
                    Diagnostic::error(
                        Code::UseAfterStop,
                        check.path_span,
                        format!("`{t}` is used after it was stopped{via}"),
                    )
                    .label("used here")
                    .secondary(*at, "stopped here")
                    .help(if check.ends && *t == check.subject {
                        // A second result of a stop: `stop(30s).exit_code`, later `stop(30s).duration`.
                        "each `stop(...)` written apart stops the container again; the results of one stop (`.exit_code`, `.duration`) share it when their expectations follow each other, without `within`/`for`: put them on consecutive lines"
                    } else {
                        "after `stop` the exited container's status, exit code, logs and files stay readable, but not what needs its process (exec, requests, ports, memory, cpu, pids, actions); move this before the `stop`, or use `restart()` instead"
                    }),
                );
                return;
            }
        }
        if check.ends && check.subject_kind == SubjectKind::Container {
            stopped.insert(check.subject.clone(), check.path_span);
        }
        checks.push(check);
    }

    /// Marks the subjects the checks reach; warns about the others when
    /// `warn` (a file with errors would only get noise).
    fn mark_used(&mut self, subjects: &mut [SubjectDef], checks: &[Check], warn: bool) {
        let mut used: std::collections::HashSet<String> =
            checks.iter().flat_map(|c| c.touches().cloned()).collect();
        // What a used subject needs is used too: a container's image, and the subjects its
        // settings name (`env UP = upstream.url(9000)`), transitively.
        let mut todo: Vec<String> = used.iter().cloned().collect();
        // By name: a linear search per subject made this quadratic in large files.
        let by_name: HashMap<&str, &SubjectSpec> = subjects
            .iter()
            .map(|s| (s.name.as_str(), &s.spec))
            .collect();
        while let Some(name) = todo.pop() {
            // ... and the host commands and tasks it runs after.
            let needs: Vec<String> = match by_name.get(name.as_str()).copied() {
                Some(SubjectSpec::Run(r)) => std::iter::once(r.image.clone())
                    .chain(r.refers_to.iter().cloned())
                    .collect(),
                Some(SubjectSpec::Task(t)) => std::iter::once(t.run.image.clone())
                    .chain(t.run.refers_to.iter().cloned())
                    .chain(t.after.iter().cloned())
                    .collect(),
                Some(SubjectSpec::Host(h)) => {
                    h.refers_to.iter().chain(h.after.iter()).cloned().collect()
                }
                Some(SubjectSpec::Compose(c)) => c.refers_to.clone(),
                Some(SubjectSpec::Request(r)) => std::iter::once(r.container.clone())
                    .chain(r.captures.iter().cloned())
                    .collect(),
                _ => Vec::new(),
            };
            for n in needs {
                if used.insert(n.clone()) {
                    todo.push(n);
                }
            }
        }
        for s in subjects.iter_mut() {
            s.used = used.contains(&s.name);
            if !s.used && warn {
                self.error(
                    Diagnostic::warning(
                        Code::Unused,
                        s.span,
                        format!("{} `{}` is never used", s.kind.word(), s.name),
                    )
                    .label("not reached by any expectation or action")
                    .help("it will not be set up; add an expectation about it or remove it"),
                );
            }
        }
    }

    /// Containers whose settings name each other in a circle cannot be started in any order.
    fn check_reference_cycles(&mut self, subjects: &[SubjectDef]) {
        let refs = |s: &SubjectDef| -> Vec<String> {
            match &s.spec {
                SubjectSpec::Run(r) => r.refers_to.clone(),
                SubjectSpec::Compose(c) => c.refers_to.clone(),
                _ => Vec::new(),
            }
        };
        for (span, names) in order::cycles(subjects, refs) {
            self.error(
                Diagnostic::error(
                    Code::Cycle,
                    span,
                    format!(
                        "containers refer to each other in a circle: {}",
                        names.join(" → ")
                    ),
                )
                .label("needs itself through its settings")
                .help("a container starts after those its settings name; break the circle (for example pass one address through a `let`)"),
            );
        }
    }

    /// "did you mean" over the declared subjects of some kinds.
    pub fn subject_help(&self, name: &str, kinds: &[SubjectKind]) -> String {
        let mut declared: Vec<(&String, &Declared)> = self
            .subjects
            .iter()
            .filter(|(_, d)| kinds.contains(&d.kind))
            .collect();
        declared.sort_by_key(|(_, d)| d.span.start);
        let names: Vec<&str> = declared.into_iter().map(|(n, _)| n.as_str()).collect();
        let what = match kinds {
            [SubjectKind::Image] => "image subjects",
            _ => "subjects",
        };
        suggest::help_for(name, &names, what)
    }
}
