/**
 * `GET /docs`: the API reference, drawn in the browser by Scalar (@scalar/api-reference, pinned in scalar.json)
 * from /openapi.json. Its script is a static asset (scripts/static-assets.mjs copies it from the npm package into
 * public/, wrangler.toml `[assets]`): served by Cloudflare without running the Worker, kept by browsers for a year,
 * and no byte of the Worker's upload. Nothing leaves the origin: no CDN, no fonts, no telemetry (see SCALAR_CONFIG).
 */
import { Hono } from "hono";
import { NONCE, secureHeaders, type SecureHeadersVariables } from "hono/secure-headers";
import type { AppEnv } from "../../platform/context";
import scalar from "./scalar.json";

/** Where the browser finds Scalar's script: its version is in the name, so it may be cached for good. */
export const SCALAR_SCRIPT_PATH = `/docs/assets/scalar-${scalar.version}.js`;

/**
 * Scalar reads the document and shows it; nothing of it calls another origin. Its default fonts come from
 * fonts.scalar.com; its API client ("Test Request") would send requests through proxy.scalar.com; the agent, MCP
 * and developer tools talk to scalar.com. The reference shows each operation's code samples all the same, for
 * this instance (the page adds `servers`: the document names none).
 */
const SCALAR_CONFIG = {
  url: "/openapi.json",
  withDefaultFonts: false,
  hideClientButton: true,
  hideTestRequestButton: true,
  showDeveloperTools: "never",
  telemetry: false,
  agent: { disabled: true },
  mcp: { disabled: true },
  documentDownloadType: "json",
  orderSchemaPropertiesBy: "preserve",
};

/**
 * Scripts and style elements only with this response's nonce, requests only to this origin.
 * - Scalar gives its own <style> the nonce of the csp-nonce meta element; its other style elements (Vue's, its
 *   toasts') are made with document.createElement, which the page's first script makes add the nonce. Markup cannot
 *   get it: the parser does not call createElement.
 * - style attributes are allowed ('unsafe-inline' for style-src-attr only): Scalar writes some in HTML it builds
 *   (code blocks' `--line-count`, a scrollbar probe), with values no hash could list. An attribute cannot run code
 *   or read the page; the reference shows only this Worker's own document.
 * - no 'unsafe-eval': zod inside Scalar would try `Function("")` to choose its fast path, so the first script tells
 *   it not to (jitless) before Scalar loads.
 */
const docsHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: [NONCE],
    styleSrc: [NONCE],
    styleSrcAttr: ["'unsafe-inline'"],
    connectSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
});

/** Runs before Scalar loads (see docsHeaders). */
const BEFORE_SCALAR = `globalThis.__zod_globalConfig = { jitless: true };
{
  const nonce = document.currentScript.nonce;
  const createElement = document.createElement.bind(document);
  document.createElement = (name, options) => {
    const element = createElement(name, options);
    if (element instanceof HTMLStyleElement) element.nonce = nonce;
    return element;
  };
}`;

type DocsEnv = { Bindings: AppEnv["Bindings"]; Variables: AppEnv["Variables"] & SecureHeadersVariables };

const page = (title: string, nonce: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="csp-nonce" content="${nonce}">
<title>${title}</title>
<link rel="icon" href="data:,">
</head>
<body>
<noscript>This reference needs JavaScript. The API description itself is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</noscript>
<div id="reference"></div>
<script nonce="${nonce}">${BEFORE_SCALAR}</script>
<script nonce="${nonce}" src="${SCALAR_SCRIPT_PATH}"></script>
<script nonce="${nonce}">Scalar.createApiReference("#reference", { ...${JSON.stringify(SCALAR_CONFIG)}, servers: [{ url: location.origin }] });</script>
</body>
</html>
`;

/** The page for a document titled `title` (plain text: the app's own title). */
export const docsRouter = (title: string) =>
  new Hono<DocsEnv>().get("/docs", docsHeaders, (c) => {
    c.header("Cache-Control", "no-store"); // a fresh nonce each time
    return c.html(page(title, c.get("secureHeadersNonce") ?? ""));
  });
