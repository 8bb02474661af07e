//! `dspec lsp` end to end: the real binary, spoken to in JSON-RPC over its standard input and
//! output as an editor does (issue 15).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i64,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dspec"))
            .arg("lsp")
            .env("DOCKER_HOST", "tcp://127.0.0.1:1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starts dspec lsp");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Client {
            child,
            stdin,
            stdout,
            next_id: 1,
        }
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn read(&mut self) -> Value {
        let mut len = 0;
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "server closed"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                len = n.parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        self.stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let msg = self.read();
            if msg["id"] == id {
                assert!(msg.get("error").is_none(), "{method}: {msg}");
                return msg["result"].clone();
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next publishDiagnostics notification.
    fn diagnostics(&mut self) -> Vec<Value> {
        loop {
            let msg = self.read();
            if msg["method"] == "textDocument/publishDiagnostics" {
                return msg["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }
}

const URI: &str = "file:///tmp/dspec-lsp-test/api.dspec";

fn at(line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": URI}, "position": {"line": line, "character": character}})
}

#[test]
fn an_editor_session() {
    let mut c = Client::start();
    let init = c.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    assert_eq!(init["serverInfo"]["name"], "dspec");
    assert!(init["capabilities"]["completionProvider"].is_object());
    c.notify("initialized", json!({}));

    // A spec with a typo (line 3) and a unit written apart from its number (line 4); "café"
    // on line 5 puts a UTF-16 column to the test.
    let text = "image prod = build \".\"\n\
                container api = run prod { publish 8000 }\n\
                expect prod.sise < 200MB\n\
                expect api.health == \"healthy\" within 30 seconds\n\
                expect api.exec(\"echo café\").stdout == \"café\" ; expect prod.layers <= 2 layers\n";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "dspec", "version": 1, "text": text}}),
    );
    let diags = c.diagnostics();
    let codes: Vec<&str> = diags.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["DS0002", "DS0001"], "{diags:#?}");
    assert_eq!(
        diags[0]["range"]["start"],
        json!({"line": 3, "character": 38})
    );
    assert!(
        diags[0]["message"]
            .as_str()
            .unwrap()
            .contains("help: write `30s`")
    );
    // `layers` after two `café`s: UTF-16 column 72 (the byte column would be 74).
    assert_eq!(diags[1]["range"]["start"]["line"], 4);
    assert_eq!(diags[1]["range"]["start"]["character"], 72);

    // A change: the syntax fixed, the typo left. The compiler's did-you-mean comes through.
    let text = "image prod = build \".\"\n\
                container api = run prod { publish 8000 }\n\
                expect prod.sise < 200MB\n\
                expect api.health == \"healthy\" within 30s\n";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": text}]}),
    );
    let diags = c.diagnostics();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["code"], "DS0201");
    assert!(
        diags[0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `size`?")
    );

    // The did-you-mean as a quick fix.
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": diags[0]["range"], "context": {"diagnostics": []}}),
    );
    let edit = &actions[0]["edit"]["changes"][URI][0];
    assert_eq!(edit["newText"], "size", "{actions:#}");
    assert_eq!(edit["range"], diags[0]["range"]);

    // Completion of a container's properties after `api.`, with their docs.
    let items = c.request("textDocument/completion", at(3, 11));
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"health") && labels.contains(&"memory"),
        "{labels:?}"
    );
    let health = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "health")
        .unwrap();
    assert!(
        health["documentation"]["value"]
            .as_str()
            .unwrap()
            .contains("healthy")
    );

    // Hover on `health`: its type and doc.
    let hover = c.request("textDocument/hover", at(3, 13));
    let md = hover["contents"]["value"].as_str().unwrap();
    assert!(md.contains("health") && md.contains("text"), "{md}");

    // Go to the definition of `prod` in `run prod`.
    let def = c.request("textDocument/definition", at(1, 22));
    assert_eq!(def["uri"], URI);
    assert_eq!(def["range"]["start"], json!({"line": 0, "character": 6}));

    // The outline.
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": URI}}),
    );
    let names: Vec<&str> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[..2], ["prod", "api"]);

    // Formatting: `dspec fmt` as one edit.
    let messy = "image prod = build \".\"\nexpect   prod.size<200MB\n";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{"text": messy}]}),
    );
    c.diagnostics();
    let edits = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(
        edits[0]["newText"],
        "image prod = build \".\"\nexpect prod.size < 200MB\n"
    );

    // Shutdown and exit: the process ends with 0.
    let done = c.request("shutdown", Value::Null);
    assert!(done.is_null());
    c.notify("exit", Value::Null);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = c.child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0));
            break;
        }
        assert!(Instant::now() < deadline, "dspec lsp did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}
