// The stock @google/genai SDK against livesvc serve, as a web app's backend and browser use it:
// mint an ephemeral token with a client key (ai.authTokens.create), list models, then open a
// Live session with the token, take one turn, and try a second session (the token had one use).
// Usage: LIVESVC_URL=https://127.0.0.1:PORT LIVESVC_KEY=... NODE_EXTRA_CA_CERTS=ca.pem node mint_and_connect.mjs
// Prints one JSON line: {"token": "auth_tokens/...", "models": [...], "reply": "...", "second": {...}}
import { GoogleGenAI, Modality } from "@google/genai";

const baseUrl = process.env.LIVESVC_URL;
const key = process.env.LIVESVC_KEY;
const MODEL = "gemini-live-2.5-flash-preview";
const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 30_000);

const backend = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl, apiVersion: "v1alpha" } });
const token = await backend.authTokens.create({
  config: {
    uses: 1,
    liveConnectConstraints: { model: MODEL, config: { responseModalities: [Modality.TEXT] } },
  },
});
const models = [];
for await (const model of await backend.models.list()) models.push(model.name);

// What a browser does with the token it was handed.
const browser = new GoogleGenAI({ apiKey: token.name, httpOptions: { baseUrl, apiVersion: "v1alpha" } });

function openSession() {
  let text = "";
  let settle;
  const done = new Promise((resolve) => (settle = resolve));
  const session = browser.live.connect({
    model: MODEL,
    config: { responseModalities: [Modality.TEXT] },
    callbacks: {
      onmessage: (message) => {
        for (const part of message.serverContent?.modelTurn?.parts ?? []) text += part.text ?? "";
        if (message.serverContent?.turnComplete) settle({ reply: text });
      },
      onerror: (event) => settle({ error: String(event.message ?? event) }),
      onclose: (event) => settle({ code: event.code, reason: event.reason }),
    },
  });
  return { session, done };
}

const first = openSession();
(await first.session).sendClientContent({
  turns: [{ role: "user", parts: [{ text: "hello from node" }] }],
});
const turn = await first.done;
(await first.session).close();

// The SDK rejects connect() when the server closes before setupComplete.
let refused;
try {
  const second = openSession();
  await second.session;
  refused = await second.done;
} catch (error) {
  refused = { error: String(error.message ?? error) };
}

clearTimeout(deadline);
console.log(JSON.stringify({ token: token.name.slice(0, 12), models, reply: turn.reply, second: refused }));
