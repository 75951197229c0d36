// The package as a frontend gets it (in Node, `npm run test:e2e`): packed by npm, unpacked into a throwaway project
// beside nothing but `hono`, type-checked with a frontend's settings and called. The workerd half
// (client.test.ts) calls the worker through it.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderSchema, SCHEMA_FILE } from "../../../scripts/client-types.mjs";

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = resolve(PACKAGE, "../..");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

let project;
let installed;
let shipped;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), "switchboard-frontend-"));
  const [{ filename, files }] = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", project], { cwd: PACKAGE, encoding: "utf8" }),
  );
  shipped = files.map((file) => file.path).sort();
  installed = join(project, "node_modules/@switchboard/client");
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["-xzf", join(project, filename), "-C", installed, "--strip-components=1"]);
  symlinkSync(join(ROOT, "node_modules/hono"), join(project, "node_modules/hono"), "dir");
  cpSync(join(PACKAGE, "test/consumer"), project, { recursive: true });
});

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe("the client package as a frontend installs it", () => {
  it("ships its code and its types, and nothing of the app", () => {
    expect(shipped).toEqual(["README.md", "index.d.ts", "index.js", "package.json", "schema.d.ts"]);
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    expect(Object.keys(manifest.dependencies)).toEqual(["hono"]);
    expect(manifest.peerDependencies).toBeUndefined();
  });

  it("schema.d.ts is the app's routes as they are now (else: npm run client:types)", () => {
    expect(
      renderSchema() === readFileSync(SCHEMA_FILE, "utf8"),
      "packages/client/schema.d.ts is out of date: run `npm run client:types`",
    ).toBe(true);
  });

  for (const resolution of ["bundler", "nodenext"]) {
    it(`type-checks a frontend's calls, and refuses its mistakes (moduleResolution ${resolution})`, () => {
      const module = resolution === "nodenext" ? "nodenext" : "esnext";
      const run = spawnSync(process.execPath, [TSC, "-p", "tsconfig.json", "--module", module, "--moduleResolution", resolution], {
        cwd: project,
        encoding: "utf8",
      });
      expect(run.stdout + run.stderr).toBe("");
      expect(run.status).toBe(0);
    });
  }

  it("sends the request the types describe, with the token of the moment", async () => {
    const { createSwitchboardClient } = await import(pathToFileURL(join(installed, "index.js")).href);
    const sent = [];
    const fetch = async (input, init) => {
      const request = new Request(input, init);
      sent.push({
        method: request.method,
        url: request.url,
        authorization: request.headers.get("authorization"),
        body: await request.text(),
      });
      return Response.json({ id: "a-1" }, { status: 201 });
    };
    let jwt = "first.jwt";
    const api = createSwitchboardClient("https://switchboard.example.com", { token: async () => jwt, fetch });

    const created = await api.api.assistants.$post({ json: { business_data: { business_name: "Acme Dental" } }, header: {} });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ id: "a-1" });
    jwt = "second.jwt";
    await api.api.assistants[":id"].phone.$get({ param: { id: "a 1" } });

    expect(sent).toEqual([
      {
        method: "POST",
        url: "https://switchboard.example.com/api/assistants",
        authorization: "Bearer first.jwt",
        body: JSON.stringify({ business_data: { business_name: "Acme Dental" } }),
      },
      { method: "GET", url: "https://switchboard.example.com/api/assistants/a%201/phone", authorization: "Bearer second.jwt", body: "" },
    ]);
  });
});
