#!/usr/bin/env node
// `npm run token -- --org acme --role owner [--sub user-1] [--ttl 12h]`: a dev JWT signed with AUTH_JWT_SECRET
// from .dev.vars (or the environment), for curl and the frontend in local development.
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";

const { values } = parseArgs({
  options: {
    org: { type: "string", default: "acme" },
    role: { type: "string", default: "owner" },
    sub: { type: "string", default: "dev-user" },
    ttl: { type: "string", default: "12h" },
  },
});

const vars = { ...readDevVars(), ...process.env };
const secret = vars.AUTH_JWT_SECRET;
if (!secret) {
  console.error("AUTH_JWT_SECRET is not set: run `npm run dev` once (it creates .dev.vars) or export it.");
  process.exit(1);
}
const roles = ["member", "owner", "platform_admin"];
if (!roles.includes(values.role)) {
  console.error(`--role must be one of ${roles.join(", ")}`);
  process.exit(1);
}

const claims = { [vars.AUTH_ORG_CLAIM || "org_id"]: values.org, [vars.AUTH_ROLE_CLAIM || "role"]: values.role };
let jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setSubject(values.sub).setIssuedAt().setExpirationTime(values.ttl);
if (vars.AUTH_ISSUER) jwt = jwt.setIssuer(vars.AUTH_ISSUER);
if (vars.AUTH_AUDIENCE) jwt = jwt.setAudience(vars.AUTH_AUDIENCE);
console.log(await jwt.sign(new TextEncoder().encode(secret)));

function readDevVars() {
  const file = existsSync(".dev.vars") ? ".dev.vars" : ".dev.vars.example";
  const vars = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = line.match(/^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/);
    if (match) vars[match[1]] = match[2].replace(/^"(.*)"$/, "$1");
  }
  return vars;
}
