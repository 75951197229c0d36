// The benchmark's baseline: a bare Hono worker doing what GET /api/assistants must do at the least (verify the
// token, one D1 query of the organisation's assistants with their numbers, one log line) and nothing else.
// `npm run bench` runs it on the same D1 state as the real worker and prints the real list's req/s against it.
import { Hono } from "hono";
import { jwtVerify } from "jose";

type Bindings = { DB: D1Database; AUTH_JWT_SECRET: string };

const app = new Hono<{ Bindings: Bindings }>();

app.get("/health", (c) => c.json({ status: "ok", upstream_mode: "bare" }));

app.get("/api/assistants", async (c) => {
  const token = c.req.header("Authorization")?.replace(/^Bearer\s+/i, "") ?? "";
  const { payload } = await jwtVerify(token, new TextEncoder().encode(c.env.AUTH_JWT_SECRET), {
    algorithms: ["HS256"],
    requiredClaims: ["exp"],
  });
  const { results } = await c.env.DB.prepare(
    `SELECT a.*, p.id AS phone_number_id, p.number, p.provider, p.status
     FROM assistants a LEFT JOIN phone_numbers p ON p.assistant_id = a.id
     WHERE a.org_id = ? AND a.state = 'active' ORDER BY a.created_at DESC, a.id DESC`,
  )
    .bind(String(payload.org_id))
    .all();
  console.log(JSON.stringify({ level: "info", event: "request", path: c.req.path, status: 200 }));
  return c.json({ assistants: results });
});

export default app;
