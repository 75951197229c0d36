// scripts/token.mjs as `npm run token` runs it (in Node, `npm run test:e2e`), from a directory of its own whose
// .dev.vars holds a known secret, so a developer's .dev.vars or environment changes nothing here.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeJwt, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), "../../scripts/token.mjs");
const SECRET = "token-test-secret-of-at-least-32-characters";

let directory;
beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), "switchboard-token-"));
  writeFileSync(join(directory, ".dev.vars"), `AUTH_JWT_SECRET=${SECRET}\nAUTH_AUDIENCE=switchboard\n`);
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const token = (...args) =>
  spawnSync(process.execPath, [SCRIPT, ...args], { cwd: directory, encoding: "utf8", env: { PATH: process.env.PATH } });

describe("npm run token", () => {
  for (const flag of ["--help", "-h"]) {
    it(`${flag} prints the usage and exits 0`, () => {
      const run = token(flag);
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/^Usage: npm run -s token -- /);
      for (const option of ["--org", "--role", "--sub", "--ttl"]) expect(run.stdout).toContain(option);
    });
  }

  it("`npm run -s token -- --help`, as the README says it, prints the usage", () => {
    const run = spawnSync("npm", ["run", "-s", "token", "--", "--help"], { cwd: resolve(dirname(SCRIPT), ".."), encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npm run -s token -- /);
  });

  const mistakes = [
    [["--bogus"], /Unknown option '--bogus'/],
    [["extra"], /Unexpected argument 'extra'/],
    [["--org"], /'--org <value>' argument missing/],
    [["--role", "admin"], /--role must be one of member, owner, platform_admin, not "admin"/],
    [["--ttl", "forever"], /--ttl "forever" is not a duration/],
  ];
  for (const [args, message] of mistakes) {
    it(`${args.join(" ")}: the mistake and the usage on stderr, no token, exit 2`, () => {
      const run = token(...args);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain("Usage: npm run -s token -- ");
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(run.status).toBe(2);
    });
  }

  it("prints a token the worker accepts: the organisation, role and subject asked, signed with .dev.vars' secret", async () => {
    const run = token("--org", "org-7", "--role", "platform_admin", "--sub", "ops-1", "--ttl", "30m");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const jwt = run.stdout.trim();
    const { payload, protectedHeader } = await jwtVerify(jwt, new TextEncoder().encode(SECRET), { audience: "switchboard" });
    expect(protectedHeader.alg).toBe("HS256");
    expect(payload).toMatchObject({ org_id: "org-7", role: "platform_admin", sub: "ops-1" });
    expect(payload.exp - payload.iat).toBe(30 * 60);
  });

  it("defaults: acme, owner, dev-user, 12 hours", () => {
    const payload = decodeJwt(token().stdout.trim());
    expect(payload).toMatchObject({ org_id: "acme", role: "owner", sub: "dev-user" });
    expect(payload.exp - payload.iat).toBe(12 * 3600);
  });
});
