// `npm run bench:provisioning`: how long after the (simulated) Vapi activates a new number it shows in the API,
// by the tracker's polling and by a call webhook, and how many Vapi calls one provisioning costs.
// Runs `wrangler dev` in sandbox mode with POLL_INTERVAL_SECONDS=1 and a 5 s activation delay; loopback only.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { assistantBody, DevServer, ROOT, runScript, SECRETS, sleep, token } from "./lib.mjs";

const ACTIVATION_DELAY_S = 5;
const SAMPLES = 5;
const server = new DevServer({
  name: "provisioning-lag",
  vars: {
    UPSTREAM_MODE: "sandbox",
    POLL_INTERVAL_SECONDS: "1",
    SANDBOX_ACTIVATION_DELAY_SECONDS: String(ACTIVATION_DELAY_S),
    VAPI_FREE_NUMBER_LIMIT: "100",
    SANDBOX_VAPI_NUMBER_LIMIT: "100",
    RATE_LIMITS_ENABLED: "false",
  },
});

/** Creates an assistant on an empty pool; `activatesAt` is an upper bound of when the sandbox activates its number. */
async function createProvisioning(auth, i) {
  const before = Date.now();
  const res = await server.call("POST", "/api/assistants", { auth, body: assistantBody(i) });
  if (res.status !== 201 || res.json.phone_status !== "provisioning") throw new Error(`create: ${res.status} ${res.text.slice(0, 300)}`);
  return { assistant: res.json, activatesAt: before + res.ms + ACTIVATION_DELAY_S * 1000 };
}

async function visibleAt(auth, id, deadlineMs = 30_000) {
  const stop = Date.now() + deadlineMs;
  while (Date.now() < stop) {
    const res = await server.call("GET", `/api/assistants/${id}/phone`, { auth });
    if (res.json?.phone_status === "active") return { at: Date.now(), number: res.json.vapi_phone_number };
    await sleep(50);
  }
  throw new Error(`assistant ${id} never became active`);
}

async function main() {
  await server.start();
  const auth = token("lag-org");
  const polled = [];
  for (let i = 0; i < SAMPLES; i++) {
    const { assistant, activatesAt } = await createProvisioning(auth, i);
    const seen = await visibleAt(auth, assistant.id);
    polled.push({ id: assistant.id, phone_number_id: assistant.phone_number_id, lag_ms: Math.max(0, seen.at - activatesAt) });
  }

  const hooked = [];
  for (let i = 0; i < SAMPLES; i++) {
    const { assistant } = await createProvisioning(auth, 100 + i);
    const [[row]] = await server.d1(`SELECT vapi_phone_number_id FROM phone_numbers WHERE id = '${assistant.phone_number_id}'`);
    const sent = Date.now();
    const hook = await server.call("POST", "/webhooks/vapi", {
      headers: { "X-Vapi-Secret": SECRETS.VAPI_WEBHOOK_SECRET },
      body: {
        message: {
          type: "status-update",
          status: "ringing",
          call: { id: `lag-call-${i}`, phoneNumberId: row.vapi_phone_number_id },
          phoneNumber: { number: `+1415555${String(1000 + i)}` },
        },
      },
    });
    if (hook.status !== 200) throw new Error(`webhook: ${hook.status} ${hook.text}`);
    const seen = await visibleAt(auth, assistant.id);
    hooked.push({ id: assistant.id, phone_number_id: assistant.phone_number_id, lag_ms: seen.at - sent });
  }

  const ids = polled.map((p) => `'${p.phone_number_id}'`).join(",");
  const [attempts] = await server.d1(`SELECT provisioning_attempts AS attempts FROM phone_numbers WHERE id IN (${ids})`);
  const checks = attempts.map((r) => r.attempts);
  const stats = (xs) => ({ min: Math.min(...xs), median: [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)], max: Math.max(...xs) });
  const result = {
    at: new Date().toISOString(),
    settings: { POLL_INTERVAL_SECONDS: 1, SANDBOX_ACTIVATION_DELAY_SECONDS: ACTIVATION_DELAY_S, samples: SAMPLES },
    polling_lag_ms: stats(polled.map((p) => p.lag_ms)),
    webhook_lag_ms: stats(hooked.map((h) => h.lag_ms)),
    // Each check is one GET /phone-number/{id}; one POST /phone-number made the number.
    vapi_calls_per_provisioning_by_polling: stats(checks.map((n) => n + 1)),
    vapi_calls_per_provisioning_by_webhook: 1,
  };
  console.log(`detection lag by polling (activation → visible in GET …/phone): ${JSON.stringify(result.polling_lag_ms)} ms`);
  console.log(`detection lag by webhook (webhook sent → visible): ${JSON.stringify(result.webhook_lag_ms)} ms`);
  console.log(
    `Vapi calls per provisioning by polling (1 create + checks): ${JSON.stringify(result.vapi_calls_per_provisioning_by_polling)}; by webhook: 1`,
  );
  writeFileSync(join(ROOT, "bench/provisioning-results.json"), JSON.stringify(result, null, 2));
  return result.polling_lag_ms.max <= 2000 ? 0 : 1;
}

runScript("provisioning-lag", server, main, { deadlineMs: 5 * 60_000 });
