// Starts `netc lsp` for .net files: diagnostics with quick fixes, hover, inlay hints, definition,
// references, completion, symbols and formatting come from the server. The setting `netc.path` names
// the executable (default: `netc` on the PATH).
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

async function activate(context) {
  const command = vscode.workspace.getConfiguration("netc").get("path") || "netc";
  // An executable talks over stdio by default.
  const server = { command, args: ["lsp"] };
  client = new LanguageClient("netc", "netc", { run: server, debug: server }, {
    documentSelector: [{ language: "netc" }],
  });
  context.subscriptions.push(client);
  await client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
