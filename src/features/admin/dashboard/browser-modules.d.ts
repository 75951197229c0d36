/** A *.browser.js file imports as its text: wrangler.toml's `[[rules]]` make it a Text module (the tests read them too). */
declare module "*.browser.js" {
  const source: string;
  export default source;
}
