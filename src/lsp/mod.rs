//! `dspec lsp`: a language server over standard input and output (JSON-RPC, as editors speak
//! it). Diagnostics as you type — the codes, titles and help of `dspec validate`, from the
//! same parser and compiler — completion, hover, go to definition, the outline, formatting
//! (`dspec fmt`) and a quick fix for each did-you-mean.
//!
//! Synchronous on purpose (`lsp-server`): a spec of 2,000 lines is checked in milliseconds, so
//! each change is answered in turn, and nothing here needs the Docker engine.

mod diagnostics;
mod features;
pub mod lines;

use std::collections::HashMap;
use std::path::PathBuf;

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    Request as _,
};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams,
    CodeActionProviderCapability, CompletionOptions, CompletionParams, CompletionResponse,
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DocumentFormattingParams, DocumentSymbolParams, DocumentSymbolResponse, GotoDefinitionParams,
    GotoDefinitionResponse, Hover, HoverContents, HoverParams, HoverProviderCapability,
    InitializeResult, Location, MarkupContent, MarkupKind, OneOf, PublishDiagnosticsParams,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit,
    Uri, WorkspaceEdit,
};

use crate::ast::SpecFile;
use crate::compile;
use crate::diag::Diagnostic;
use lines::Lines;

/// One open document and what was found in it at its last change.
struct Doc {
    text: String,
    lines: Lines,
    ast: SpecFile,
    diagnostics: Vec<Diagnostic>,
}

struct Server {
    conn: Connection,
    opts: compile::Options,
    docs: HashMap<String, Doc>,
}

/// Runs the server until the client says `exit`; the exit code for `dspec lsp`.
pub fn run(opts: compile::Options) -> i32 {
    let (conn, io) = Connection::stdio();
    let caps = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), "\"".into()]),
            ..Default::default()
        }),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..Default::default()
    };
    let init = InitializeResult {
        capabilities: caps,
        server_info: Some(ServerInfo {
            name: "dspec".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    let started = conn.initialize_start().and_then(|(id, _params)| {
        conn.initialize_finish(id, serde_json::to_value(init).unwrap_or_default())
    });
    if let Err(e) = started {
        crate::output::errln!("dspec lsp: {e}");
        return crate::exit_code::INVALID;
    }
    let mut server = Server {
        conn,
        opts,
        docs: HashMap::new(),
    };
    let code = server.serve();
    drop(server);
    let _ = io.join();
    code
}

/// The file path a URI names, for resolving relative paths and naming the file.
fn path_of(uri: &Uri) -> PathBuf {
    let raw = uri.path().as_str();
    let mut out = Vec::with_capacity(raw.len());
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&raw[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    PathBuf::from(String::from_utf8_lossy(&out).into_owned())
}

impl Server {
    fn serve(&mut self) -> i32 {
        while let Ok(msg) = self.conn.receiver.recv() {
            match msg {
                Message::Request(req) => {
                    match self.conn.handle_shutdown(&req) {
                        Ok(true) => return crate::exit_code::OK,
                        Ok(false) => {}
                        Err(_) => return crate::exit_code::INVALID,
                    }
                    let resp = self.request(req);
                    if self.conn.sender.send(Message::Response(resp)).is_err() {
                        return crate::exit_code::INFRA;
                    }
                }
                Message::Notification(n) => self.notification(n),
                Message::Response(_) => {}
            }
        }
        crate::exit_code::OK
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) = n.extract::<DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD) {
                    self.update(p.text_document.uri, p.text_document.text);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(mut p) =
                    n.extract::<DidChangeTextDocumentParams>(DidChangeTextDocument::METHOD)
                    && let Some(change) = p.content_changes.pop()
                {
                    // Full synchronisation: the last change holds the whole text.
                    self.update(p.text_document.uri, change.text);
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) = n.extract::<DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                {
                    self.docs.remove(p.text_document.uri.as_str());
                    self.publish(p.text_document.uri, Vec::new());
                }
            }
            _ => {}
        }
    }

    /// Checks the new text and publishes its diagnostics.
    fn update(&mut self, uri: Uri, text: String) {
        let (loaded, ast) = crate::load::load_text(path_of(&uri), text.clone(), &self.opts);
        let lines = Lines::new(&text);
        let mut diagnostics = loaded.diagnostics;
        diagnostics.sort_by_key(|d| (d.primary.span.start, d.code));
        let published = diagnostics
            .iter()
            .map(|d| diagnostics::to_lsp(d, &text, &lines, &uri))
            .collect();
        self.docs.insert(
            uri.as_str().to_string(),
            Doc {
                lines,
                ast: ast.unwrap_or(SpecFile {
                    file: crate::source::FileId(0),
                    items: Vec::new(),
                    deferred: Vec::new(),
                }),
                diagnostics,
                text,
            },
        );
        self.publish(uri, published);
    }

    fn publish(&self, uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>) {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version: None,
        };
        let _ = self
            .conn
            .sender
            .send(Message::Notification(Notification::new(
                PublishDiagnostics::METHOD.into(),
                params,
            )));
    }

    fn request(&self, req: Request) -> Response {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            Completion::METHOD => self.with::<CompletionParams, _>(req, |s, p| {
                let uri = &p.text_document_position.text_document.uri;
                s.doc(uri).map(|d| {
                    let at = d.lines.offset(&d.text, p.text_document_position.position);
                    CompletionResponse::Array(features::complete(&d.text, at, &d.ast, &d.lines))
                })
            }),
            HoverRequest::METHOD => self.with::<HoverParams, _>(req, |s, p| {
                let uri = &p.text_document_position_params.text_document.uri;
                let d = s.doc(uri)?;
                let at = d
                    .lines
                    .offset(&d.text, p.text_document_position_params.position);
                let (md, start, end) = features::hover(&d.text, at, &d.ast)?;
                Some(Hover {
                    contents: HoverContents::Markup(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value: md,
                    }),
                    range: Some(d.lines.range(&d.text, start, end)),
                })
            }),
            GotoDefinition::METHOD => self.with::<GotoDefinitionParams, _>(req, |s, p| {
                let uri = &p.text_document_position_params.text_document.uri;
                let d = s.doc(uri)?;
                let at = d
                    .lines
                    .offset(&d.text, p.text_document_position_params.position);
                let span = features::definition(&d.text, at, &d.ast)?;
                Some(GotoDefinitionResponse::Scalar(Location {
                    uri: uri.clone(),
                    range: d.lines.range(&d.text, span.start, span.end),
                }))
            }),
            DocumentSymbolRequest::METHOD => self.with::<DocumentSymbolParams, _>(req, |s, p| {
                let d = s.doc(&p.text_document.uri)?;
                Some(DocumentSymbolResponse::Nested(features::symbols(
                    &d.text, &d.ast, &d.lines,
                )))
            }),
            Formatting::METHOD => {
                self.with::<DocumentFormattingParams, _>(req, |s, p| s.format(&p.text_document.uri))
            }
            CodeActionRequest::METHOD => {
                self.with::<CodeActionParams, _>(req, |s, p| s.code_actions(&p))
            }
            _ => {
                return Response::new_err(
                    id,
                    lsp_server::ErrorCode::MethodNotFound as i32,
                    format!("dspec lsp does not handle `{}`", req.method),
                );
            }
        };
        match result {
            Ok(v) => Response::new_ok(id, v),
            Err(e) => Response::new_err(id, lsp_server::ErrorCode::InvalidParams as i32, e),
        }
    }

    /// Decodes a request's parameters and answers it (`null` when `f` has nothing).
    fn with<P, R>(
        &self,
        req: Request,
        f: impl FnOnce(&Server, P) -> Option<R>,
    ) -> Result<serde_json::Value, String>
    where
        P: serde::de::DeserializeOwned,
        R: serde::Serialize,
    {
        let method = req.method.clone();
        let (_id, params): (RequestId, P) = req
            .extract(&method)
            .map_err(|e| format!("bad parameters: {e:?}"))?;
        Ok(f(self, params)
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .unwrap_or(serde_json::Value::Null))
    }

    fn doc(&self, uri: &Uri) -> Option<&Doc> {
        self.docs.get(uri.as_str())
    }

    /// `dspec fmt` of the document, as one edit; nothing while it has syntax errors.
    fn format(&self, uri: &Uri) -> Option<Vec<TextEdit>> {
        let d = self.doc(uri)?;
        let mut sources = crate::source::SourceMap::new();
        let id = sources.add(path_of(uri), d.text.clone());
        let (ast, errors) = crate::parse::parse_file(sources.get(id));
        let ast = ast.filter(|_| errors.is_empty())?;
        let formatted =
            crate::format::keep_line_endings(&d.text, crate::format::format(sources.get(id), &ast));
        if formatted == d.text {
            return Some(Vec::new());
        }
        Some(vec![TextEdit {
            range: d.lines.all(&d.text),
            new_text: formatted,
        }])
    }

    /// A quick fix for each diagnostic in the range whose message proposes a replacement.
    fn code_actions(&self, p: &CodeActionParams) -> Option<Vec<CodeActionOrCommand>> {
        let uri = &p.text_document.uri;
        let d = self.doc(uri)?;
        let start = d.lines.offset(&d.text, p.range.start);
        let end = d.lines.offset(&d.text, p.range.end);
        let mut out = Vec::new();
        for diag in &d.diagnostics {
            let span = diag.primary.span;
            if span.end < start || span.start > end {
                continue;
            }
            let Some(fix) = diagnostics::fix_of(diag) else {
                continue;
            };
            let edit = TextEdit {
                range: d.lines.range(&d.text, span.start, span.end),
                new_text: fix.clone(),
            };
            out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("{}: write `{fix}`", diag.code),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostics::to_lsp(diag, &d.text, &d.lines, uri)]),
                edit: Some(WorkspaceEdit {
                    changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                    ..Default::default()
                }),
                is_preferred: Some(true),
                ..Default::default()
            }));
        }
        Some(out)
    }
}
