// schema-compat.sh on throwaway git repositories: it passes additions and
// the removal of what the previous commit deprecated, fails on any other
// breaking change, and passes, saying why, when there is nothing to
// compare with (a first commit, a shallow clone, no schema yet).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

import { compare } from './schema-compat.mjs';
import { root } from './server.mjs';

const script = join(dirname(fileURLToPath(import.meta.url)), 'schema-compat.sh');
const scratch = mkdtempSync(join(tmpdir(), 'tradegraph-schema-compat-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
// No user or system git configuration reaches these repositories.
const noConfig = join(scratch, 'gitconfig');
writeFileSync(noConfig, '');

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_GLOBAL: noConfig, GIT_CONFIG_NOSYSTEM: '1',
};
const git = (repo, ...args) => execFileSync('git', ['-C', repo, ...args], { env: gitEnv, stdio: 'pipe' });

/** A repository whose commits hold these versions of schema.graphql (null: no file). */
function repository(name, ...versions) {
  const repo = join(scratch, name);
  git(scratch, 'init', '--quiet', '--initial-branch=main', repo);
  versions.forEach((sdl, index) => {
    if (sdl === null) {
      writeFileSync(join(repo, 'README'), `commit ${index}\n`);
      git(repo, 'add', 'README');
    } else {
      writeFileSync(join(repo, 'schema.graphql'), sdl);
      git(repo, 'add', 'schema.graphql');
    }
    git(repo, 'commit', '--quiet', '-m', `version ${index}`);
  });
  return repo;
}

/** Runs the script on a repository: its exit status and its last line. */
function check(repo) {
  return new Promise((resolve) => {
    execFile(script, [repo], (error, stdout, stderr) => {
      const lines = `${stdout}${stderr}`.trim().split('\n');
      resolve({ status: error ? error.code : 0, lines });
    });
  });
}

const V1 = 'type Query { shipment(reference: String!): Shipment }\ntype Shipment { id: ID! reference: String! carrierName: String }\n';

test('an added field passes', async () => {
  const repo = repository('added', V1, V1.replace('carrierName: String', 'carrierName: String note: String'));

  const { status, lines } = await check(repo);

  assert.deepStrictEqual([status, lines.at(-1)], [0, 'schema changes: 0 breaking, 0 removals of deprecated, 0 dangerous, 1 safe']);
});

test('a removed field fails', async () => {
  const repo = repository('removed', V1, V1.replace(' carrierName: String', ''));

  const { status, lines } = await check(repo);

  assert.deepStrictEqual(status, 1);
  assert.deepStrictEqual(lines.slice(1), [
    "  BREAKING Shipment.carrierName: Field 'carrierName' was removed from object type 'Shipment'",
    'schema changes: 1 breaking, 0 removals of deprecated, 0 dangerous, 0 safe',
    'a breaking change: mark the field or argument @deprecated(reason: "...") in one commit and remove it in a later one (see "Clients" in README.md)',
  ]);
});

test('a field deprecated in one commit may be removed in the next', async () => {
  const deprecated = V1.replace('carrierName: String', 'carrierName: String @deprecated(reason: "use note")');
  const repo = repository('deprecated', V1, deprecated);
  const deprecating = await check(repo);
  writeFileSync(join(repo, 'schema.graphql'), V1.replace(' carrierName: String', ''));
  git(repo, 'commit', '--quiet', '-am', 'remove carrierName');

  const removing = await check(repo);

  assert.deepStrictEqual(deprecating.status, 0);
  assert.deepStrictEqual([removing.status, removing.lines.at(-1)], [0, 'schema changes: 0 breaking, 1 removals of deprecated, 0 dangerous, 0 safe']);
});

test('only the previous commit counts: a deprecation taken back does not', async () => {
  const deprecated = V1.replace('carrierName: String', 'carrierName: String @deprecated(reason: "use note")');
  const repo = repository('taken-back', deprecated, V1, V1.replace(' carrierName: String', ''));

  const { status } = await check(repo);

  assert.deepStrictEqual(status, 1);
});

test('an argument may go only once deprecated', async () => {
  const withArgument = V1.replace('reference: String!)', 'reference: String!, year: Int)');
  const withDeprecatedArgument = V1.replace('reference: String!)', 'reference: String!, year: Int @deprecated(reason: "unused"))');

  const plain = await check(repository('argument', withArgument, V1));
  const deprecated = await check(repository('deprecated-argument', withDeprecatedArgument, V1));

  assert.deepStrictEqual(plain.status, 1);
  assert.deepStrictEqual(plain.lines[1], "  BREAKING Query.shipment.year: Argument 'year: Int' was removed from field 'Query.shipment'");
  assert.deepStrictEqual(deprecated.status, 0);
});

test('with nothing to compare with it passes and says why', async () => {
  const first = await check(repository('first', V1));
  const noSchemaBefore = await check(repository('no-schema', null, V1));
  const full = repository('full', V1, V1.replace(' carrierName: String', ''));
  const shallow = join(scratch, 'shallow');
  execFileSync('git', ['clone', '--quiet', '--depth=1', `file://${full}`, shallow], { env: gitEnv, stdio: 'pipe' });
  const shallowCheck = await check(shallow);

  assert.deepStrictEqual(
    [first, noSchemaBefore, shallowCheck].map(({ status, lines }) => [status, lines.at(-1)]),
    [
      [0, 'schema compatibility: HEAD is the first commit; nothing to compare with'],
      [0, 'schema compatibility: HEAD~1 has no schema.graphql; nothing to compare with'],
      [0, 'schema compatibility: SKIPPED, this is a shallow clone without HEAD~1 (fetch with --depth=2 or more to check)'],
    ],
  );
});

test("on tradegraph's schema: a removed type passes only when only deprecated fields reached it", async () => {
  const current = readFileSync(join(root, 'schema.graphql'), 'utf8');
  const withExtra = current.replace(
    'type Query {',
    'type Legacy {\n\tname: String\n}\n\ntype Query {\n\tlegacy: Legacy @deprecated(reason: "gone")\n\told: Legacy',
  );
  const onlyDeprecated = withExtra.replace('\n\told: Legacy', '');

  const stillUsed = await compare(withExtra, current);
  const unused = await compare(onlyDeprecated, current);
  const noNode = await compare(current, current.replace('type TradeFlow implements Node {', 'type TradeFlow {'));

  assert.deepStrictEqual(stillUsed.breaking.map((change) => change.path), ['Legacy', 'Query.old']);
  assert.deepStrictEqual(unused.breaking, []);
  assert.deepStrictEqual(unused.allowed.map((change) => change.path), ['Legacy', 'Query.legacy']);
  assert.deepStrictEqual(noNode.breaking.map((change) => change.type), ['OBJECT_TYPE_INTERFACE_REMOVED']);
});
