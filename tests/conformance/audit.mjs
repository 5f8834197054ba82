// Runs the GraphQL-over-HTTP server audits of the `graphql-http` package
// against a tradegraph server and fails on any MUST failure or SHOULD
// warning. Usage: node audit.mjs http://127.0.0.1:PORT/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql endpoint url>');
  process.exit(2);
}

const results = await auditServer({ url });
let failures = 0;
let warnings = 0;
let notices = 0;
for (const result of results) {
  if (result.status === 'ok') continue;
  if (result.status === 'notice') notices += 1;
  const body = result.response ? await result.response.text().catch(() => '') : '';
  console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}\n  ${body.slice(0, 300)}`);
  if (result.status === 'error') failures += 1;
  if (result.status === 'warn') warnings += 1;
}
const passed = results.length - failures - warnings;
console.log(`audit: ${results.length} audits, ${failures} MUST failures, ${warnings} SHOULD warnings, ${notices} MAY notices`);
console.log(`${passed} passed, ${failures + warnings} failed`);
process.exit(failures + warnings === 0 ? 0 : 1);
