// Validates an AsyncAPI document with the AsyncAPI project's own parser (@asyncapi/parser):
// the document's structure, its references (the JSON Schemas under schemas/) and its rules.
// Usage: node validate.mjs <document>. Exit 0: valid (warnings are printed); 1: errors.
import { Parser, fromFile } from "@asyncapi/parser";

const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs <asyncapi document>");
  process.exit(2);
}
const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, path).parse();
const names = ["error", "warning", "information", "hint"];
for (const found of diagnostics) {
  const where = found.path.length ? found.path.join("/") : "(document)";
  console.log(`${names[found.severity] ?? found.severity}: ${where}: ${found.message} [${found.code}]`);
}
const errors = diagnostics.filter((found) => found.severity === 0);
if (!document || errors.length) {
  console.log(`${path}: ${errors.length} error(s)`);
  process.exit(1);
}
console.log(`${path}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels, ${document.operations().length} operations`);
