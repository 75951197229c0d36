import { html, raw } from "hono/html";

interface OpenApiDocument {
  info: { title: string; version: string; description?: string };
  paths?: object;
}

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; description?: string }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string }>;
}

const METHODS = ["get", "post", "put", "patch", "delete"];

/** Readable API docs, rendered on the server from the OpenAPI document (no external scripts). */
export function renderDocs(document: OpenApiDocument) {
  const byTag = new Map<string, { method: string; path: string; op: Operation }[]>();
  for (const [path, item] of Object.entries((document.paths ?? {}) as Record<string, Record<string, Operation | undefined>>)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? "Other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method, path, op });
    }
  }
  const sections = [...byTag.entries()].map(
    ([tag, ops]) =>
      html`<section><h2>${tag}</h2>${ops.map(
        ({ method, path, op }) => html`<article id="${method}-${path}">
        <h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${path}</code>${op.security?.length ? html` <small>🔒 bearer</small>` : ""}</h3>
        ${op.summary ? html`<p>${op.summary}</p>` : ""}
        ${op.description ? html`<p class="d">${op.description}</p>` : ""}
        ${
          op.parameters?.length
            ? html`<p><b>Parameters:</b> ${op.parameters.map((p) => html`<code>${p.name}</code> (${p.in}${p.required ? ", required" : ""}) `)}</p>`
            : ""
        }
        ${
          op.requestBody?.content?.["application/json"]?.schema
            ? html`<details><summary>Request body</summary><pre>${JSON.stringify(op.requestBody.content["application/json"].schema, null, 2)}</pre></details>`
            : ""
        }
        <ul>${Object.entries(op.responses ?? {}).map(([status, r]) => html`<li><code>${status}</code> ${r.description ?? ""}</li>`)}</ul>
      </article>`,
      )}</section>`,
  );
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${document.info.title} ${document.info.version}</title>
<style>${raw(STYLE)}</style></head>
<body><header><h1>${document.info.title} <small>${document.info.version}</small></h1>
<p>${document.info.description ?? ""}</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p></header>
<main>${sections}</main></body></html>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
h2{border-bottom:1px solid #ddd;margin-top:2rem}article{margin:1rem 0;padding:.5rem 1rem;border:1px solid #eee;border-radius:6px}
h3{font-size:1rem;margin:.3rem 0}.m{display:inline-block;min-width:4rem;text-align:center;border-radius:4px;color:#fff;font-size:.8rem;padding:2px 6px}
.get{background:#2b7a3d}.post{background:#1f5fa8}.put,.patch{background:#a86b1f}.delete{background:#a8321f}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:.8rem}.d{color:#555}small{color:#777;font-weight:normal}`;
