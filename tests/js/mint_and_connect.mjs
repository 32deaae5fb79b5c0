// The stock @google/genai SDK against the livesvc gateway: a client key mints an
// ephemeral token (ai.authTokens.create), then the token opens a Live session.
// Usage: GATEWAY=https://127.0.0.1:PORT KEY=... node mint_and_connect.mjs
// (trust the gateway's CA with NODE_EXTRA_CA_CERTS). Prints one JSON line.
import { GoogleGenAI, Modality } from "@google/genai";

const gateway = process.env.GATEWAY;
const key = process.env.KEY;
const model = process.env.MODEL ?? "gemini-live-2.5-flash-preview";

const minter = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: gateway, apiVersion: "v1alpha" } });
const token = await minter.authTokens.create({
  config: {
    uses: 1,
    liveConnectConstraints: { model, config: { responseModalities: [Modality.TEXT] } },
  },
});

const ai = new GoogleGenAI({ apiKey: token.name, httpOptions: { baseUrl: gateway, apiVersion: "v1alpha" } });
let text = "";
let done;
const turn = new Promise((resolve) => (done = resolve));
const session = await ai.live.connect({
  model,
  config: { responseModalities: [Modality.TEXT] },
  callbacks: {
    onmessage: (message) => {
      for (const part of message.serverContent?.modelTurn?.parts ?? []) text += part.text ?? "";
      if (message.serverContent?.turnComplete) done();
    },
    onerror: (e) => { console.log(JSON.stringify({ error: String(e?.message ?? e) })); process.exit(1); },
  },
});
session.sendClientContent({ turns: [{ role: "user", parts: [{ text: "hello from node" }] }] });
await turn;
session.close();
console.log(JSON.stringify({ token: token.name.startsWith("auth_tokens/"), reply: text }));
process.exit(0);
