#!/usr/bin/env node
// `npm run token -- --org acme --role owner [--sub user-1] [--ttl 12h]`: a dev JWT signed with AUTH_JWT_SECRET
// from .dev.vars (or the environment), for curl and the frontend in local development. `--help` says how.
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { readDevVars } from "./dev-vars.mjs";

const ROLES = ["member", "owner", "platform_admin"];
const USAGE = `Usage: npm run -s token -- [--org <id>] [--role <role>] [--sub <id>] [--ttl <duration>]

Prints a development JWT (HS256) signed with AUTH_JWT_SECRET from .dev.vars (else .dev.vars.example) or the
environment, with AUTH_ISSUER and AUTH_AUDIENCE when they are set.

  --org <id>        the organisation (the AUTH_ORG_CLAIM claim, org_id by default)   default: acme
  --role <role>     member, owner or platform_admin                                 default: owner
  --sub <id>        the user (the token's subject)                                  default: dev-user
  --ttl <duration>  how long it is valid: 30m, 12h, 7d                              default: 12h
  -h, --help        this text

  TOKEN=$(npm run -s token -- --org acme --role member)`;

/** A mistake in the arguments: said with the usage, exit status 2. */
function usageError(message) {
  console.error(`token: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      org: { type: "string", default: "acme" },
      role: { type: "string", default: "owner" },
      sub: { type: "string", default: "dev-user" },
      ttl: { type: "string", default: "12h" },
      help: { type: "boolean", short: "h", default: false },
    },
  }));
} catch (error) {
  usageError(error.message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!ROLES.includes(values.role)) usageError(`--role must be one of ${ROLES.join(", ")}, not "${values.role}".`);

const vars = { ...readDevVars(), ...process.env };
const secret = vars.AUTH_JWT_SECRET;
if (!secret) {
  console.error("token: AUTH_JWT_SECRET is not set: run `npm run dev` once (it creates .dev.vars) or export it.");
  process.exit(1);
}

const claims = { [vars.AUTH_ORG_CLAIM || "org_id"]: values.org, [vars.AUTH_ROLE_CLAIM || "role"]: values.role };
let jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setSubject(values.sub).setIssuedAt();
try {
  jwt = jwt.setExpirationTime(values.ttl);
} catch {
  usageError(`--ttl "${values.ttl}" is not a duration such as 30m, 12h or 7d.`);
}
if (vars.AUTH_ISSUER) jwt = jwt.setIssuer(vars.AUTH_ISSUER);
if (vars.AUTH_AUDIENCE) jwt = jwt.setAudience(vars.AUTH_AUDIENCE);
console.log(await jwt.sign(new TextEncoder().encode(secret)));
