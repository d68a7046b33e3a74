// Drives `rudder acp` with the official TypeScript SDK (@agentclientprotocol/sdk) and validates every
// message on the wire, both ways, against the SDK's own schema/v1/schema.json (ajv, strict).
// Run: bash bench/acp_ts_client/run.sh   (needs node + npm; installs the SDK into bench/acp_ts_client/node_modules)
import { spawn, execSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { createRequire } from "node:module";
import * as acp from "@agentclientprotocol/sdk";
import Ajv from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const require = createRequire(import.meta.url);
const schema = require("@agentclientprotocol/sdk/schema/v1/schema.json");
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
for (const format of ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float", "double"]) {
  ajv.addFormat(format, { type: "number", validate: (n) => Number.isFinite(n) && (format.startsWith("u") ? n >= 0 : true) });
}
ajv.addSchema(schema, "acp");
const check = (def) => ajv.getSchema(`acp#/$defs/${def}`);
// what each method's params and result must be (both directions)
const PARAMS = {
  initialize: "InitializeRequest", "session/new": "NewSessionRequest", "session/prompt": "PromptRequest",
  "session/set_mode": "SetSessionModeRequest", "session/set_config_option": "SetSessionConfigOptionRequest",
  "session/cancel": "CancelNotification", "session/update": "SessionNotification",
  "session/request_permission": "RequestPermissionRequest", "$/cancel_request": "CancelRequestNotification",
};
const RESULTS = {
  initialize: "InitializeResponse", "session/new": "NewSessionResponse", "session/prompt": "PromptResponse",
  "session/set_mode": "SetSessionModeResponse", "session/set_config_option": "SetSessionConfigOptionResponse",
  "session/request_permission": "RequestPermissionResponse",
};
const sent = { agent: new Map(), client: new Map() }; // id -> method, per the side that sent the request
const errors = [], seen = { agent: [], client: [] };
function validate(from, message) {
  seen[from].push(message.method ?? `response ${message.id}`);
  const other = from === "agent" ? "client" : "agent";
  let def, value;
  if (message.method) {
    if ("id" in message) sent[from].set(message.id, message.method);
    def = PARAMS[message.method]; value = message.params;
  } else if ("result" in message) {
    def = RESULTS[sent[other].get(message.id)]; value = message.result;
  } else return; // a JSON-RPC error: checked by the caller where one is expected
  if (!def) { errors.push(`${from}: no schema known for ${JSON.stringify(message).slice(0, 120)}`); return; }
  const validator = check(def);
  if (!validator(value)) errors.push(`${from} ${def}: ${ajv.errorsText(validator.errors)} in ${JSON.stringify(value).slice(0, 200)}`);
}

// a scratch git repository
const repo = mkdtempSync(join(tmpdir(), "rudder-acp-ts-"));
execSync("git init -q -b main && git config user.email t@e && git config user.name t && echo '# Demo' > README.md && git add . && git commit -qm init", { cwd: repo });
const configDir = mkdtempSync(join(tmpdir(), "rudder-acp-ts-config-"));
writeFileSync(join(configDir, "config.toml"), '[agent]\napproval = "ask"\nmax_steps = 4\n');
// custom commands, one yours and one the repository's: offered in available_commands_update after session/new
mkdirSync(join(configDir, "commands"));
writeFileSync(join(configDir, "commands", "explain.md"), "---\nargument-hint: FILE\n---\nExplain what $ARGUMENTS does.\n");
mkdirSync(join(repo, ".rudder", "commands"), { recursive: true });
writeFileSync(join(repo, ".rudder", "commands", "review.md"), "---\ndescription: Review the changes\n---\nReview.\n");
const rudder = process.env.RUDDER ?? "rudder";
const agent = spawn(rudder, ["acp"], {
  cwd: repo,
  stdio: ["pipe", "pipe", "inherit"],
  env: { ...process.env, RUDDER_CONFIG_DIR: configDir, RUDDER_THREADS: process.env.RUDDER_THREADS ?? "1" },
});

// tap both directions: every line validated, then passed on unchanged
let buffer = "";
const fromAgent = new ReadableStream({
  start(controller) {
    agent.stdout.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline); buffer = buffer.slice(newline + 1);
        if (line.trim()) validate("agent", JSON.parse(line));
        controller.enqueue(new TextEncoder().encode(line + "\n"));
      }
    });
    agent.stdout.on("end", () => controller.close());
  },
});
const toAgent = new WritableStream({
  write(chunk) {
    for (const line of new TextDecoder().decode(chunk).split("\n")) if (line.trim()) validate("client", JSON.parse(line));
    agent.stdin.write(chunk);
  },
});

const updates = [];
let permissionAborted = null, cancelAt = null, cancelSession = null;
const app = acp.client({ name: "rudder-bench-ts" })
  .onNotification(acp.methods.client.session.update, (ctx) => { updates.push(ctx.params.update); })
  .onRequest(acp.methods.client.session.requestPermission, async (ctx) => {
    // like Toad: the dialog stays open, the user cancels the turn instead
    cancelAt = performance.now();
    await ctx.agent.notify(acp.methods.agent.session.cancel, { sessionId: ctx.params.sessionId });
    await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
    permissionAborted = performance.now() - cancelAt;
    return { outcome: { outcome: "cancelled" } };
  });

const results = {};
await app.connectWith(acp.ndJsonStream(toAgent, fromAgent), async (ctx) => {
  const init = await ctx.request(acp.methods.agent.initialize, { protocolVersion: acp.PROTOCOL_VERSION, clientCapabilities: {} });
  results.agent = init.agentInfo;
  const session = await ctx.request(acp.methods.agent.session.new, { cwd: repo, mcpServers: [] });
  const id = session.sessionId;
  results.optionsAtStart = session.configOptions.map((o) => o.id);
  for (let i = 0; i < 100 && !updates.some((u) => u.sessionUpdate === "available_commands_update"); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  results.availableCommands = updates.filter((u) => u.sessionUpdate === "available_commands_update")
    .flatMap((u) => u.availableCommands.map((c) => `${c.name}: ${c.description}${c.input ? ` [${c.input.hint}]` : ""}`));

  // 1. a prompt
  let t = performance.now();
  const first = await ctx.request(acp.methods.agent.session.prompt, { sessionId: id, prompt: [{ type: "text", text: "what is in README.md?" }] });
  results.prompt = { stopReason: first.stopReason, seconds: +((performance.now() - t) / 1000).toFixed(1) };
  const thoughts = updates.filter((u) => u.sessionUpdate === "agent_thought_chunk").map((u) => u.content.text).join("");
  results.thoughtText = thoughts.slice(0, 160);
  results.thoughtHasJsonFraming = /^\s*\{|"thought"\s*:/.test(thoughts);

  // 2. set_mode: the sliders at once, gone again in neutral
  updates.length = 0;
  await ctx.request(acp.methods.agent.session.setMode, { sessionId: id, modeId: "fast-draft" });
  const options = updates.filter((u) => u.sessionUpdate === "config_option_update").map((u) => u.configOptions.map((o) => o.id));
  results.afterSetMode = { modeUpdate: updates.some((u) => u.sessionUpdate === "current_mode_update"), options };
  await ctx.request(acp.methods.agent.session.setMode, { sessionId: id, modeId: "neutral" });
  try {
    await ctx.request(acp.methods.agent.session.setConfigOption, { sessionId: id, configId: "steer.terse", value: "1" });
    results.staleSlider = "accepted";
  } catch (error) { results.staleSlider = `refused: ${JSON.stringify(error.data ?? error.message)}`; }

  // 3. a cancel while a permission request is open (the handler above never answers it)
  updates.length = 0;
  t = performance.now();
  const third = await ctx.request(acp.methods.agent.session.prompt, { sessionId: id, prompt: [{ type: "text", text: "create notes.txt containing: done" }] });
  results.cancelDuringPermission = {
    stopReason: third.stopReason,
    permissionAsked: cancelAt !== null,
    turnEndedMsAfterCancel: cancelAt === null ? null : Math.round(performance.now() - cancelAt),
    clientRequestWithdrawnMsAfterCancel: permissionAborted === null ? null : Math.round(permissionAborted),
    fileWritten: existsSync(join(repo, "notes.txt")),
  };
});
agent.stdin.end();
results.messages = { agent: seen.agent.length, client: seen.client.length };
results.schemaErrors = errors;
console.log(JSON.stringify(results, null, 2));
process.exit(errors.length ? 1 : 0);
