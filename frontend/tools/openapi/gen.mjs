// Generates frontend/src/api/schema.gen.ts from docs/openapi.json with openapi-typescript.
//   node tools/openapi/gen.mjs          write the file (`npm run gen:api`)
//   node tools/openapi/gen.mjs --check  exit 1 when the committed file is stale (`npm run check:api`)
// Installs this folder's locked packages first when they are missing.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const frontend = resolve(here, "../..");
const spec = resolve(frontend, "../docs/openapi.json");
const out = join(frontend, "src/api/schema.gen.ts");

if (!existsSync(join(here, "node_modules/openapi-typescript"))) {
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--silent"], { cwd: here, stdio: "inherit" });
}
const { default: openapiTS, astToString } = await import(
  pathToFileURL(join(here, "node_modules/openapi-typescript/dist/index.mjs")).href
);

const banner = `// Generated from docs/openapi.json by openapi-typescript (npm run gen:api; \`cargo xtask openapi\`
// regenerates both). Do not edit: change the Rust types, then regenerate.
`;
const ast = await openapiTS(JSON.parse(readFileSync(spec, "utf8")), { alphabetize: true, defaultNonNullable: false });
const text = banner + astToString(ast);

if (process.argv.includes("--check")) {
  const current = existsSync(out) ? readFileSync(out, "utf8") : "";
  if (current !== text) {
    console.error("frontend/src/api/schema.gen.ts is stale: run `npm run gen:api` (or `cargo xtask openapi`) and commit it");
    process.exit(1);
  }
  console.log("schema.gen.ts is current");
} else {
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
