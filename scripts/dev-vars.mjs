// The local settings file of `npm run dev` and `npm run token`: .dev.vars, else .dev.vars.example (both KEY=value).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The settings of .dev.vars in `directory` (else of .dev.vars.example; none when neither exists). */
export function readDevVars(directory = process.cwd()) {
  const file = [".dev.vars", ".dev.vars.example"].map((name) => join(directory, name)).find((path) => existsSync(path));
  const vars = {};
  if (!file) return vars;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = line.match(/^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/);
    if (match) vars[match[1]] = match[2].replace(/^"(.*)"$/, "$1");
  }
  return vars;
}
