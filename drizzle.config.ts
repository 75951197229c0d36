import { defineConfig } from "drizzle-kit";

// `npm run db:generate` writes plain SQL migrations that wrangler and the tests both apply.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
