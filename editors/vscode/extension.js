// Starts `dspec lsp` for .dspec files: diagnostics as you type, completion, hover, go to
// definition, the outline, formatting and quick fixes. Highlighting stays with the TextMate
// grammar (syntaxes/dspec.tmLanguage.json). Needs `dspec` on PATH, or the setting `dspec.path`.
"use strict";
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("dspec");
  const command = config.get("path") || "dspec";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "dspec",
    "dspec language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "dspec" }, { scheme: "untitled", language: "dspec" }] },
  );
  context.subscriptions.push(client);
  client.start().catch((err) => {
    vscode.window.showWarningMessage(
      `dspec: could not start \`${command} lsp\` (${err.message}); highlighting only. Install dspec or set dspec.path.`,
    );
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
