/**
 * The documentation holds together: every relative link in README.md and docs/ leads to a file in
 * the repository, every #anchor names a heading there (GitHub's slug rules), README.md stays short,
 * and nothing cites a document that lives outside the repository.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it, test } from 'node:test';

const root = resolve(__dirname, '..', '..', '..');

const README_MAX_LINES = 250;
/** Directories that exist in a working copy but are not part of the repository (git-ignored). */
const NOT_IN_REPO = ['dist', 'node_modules', '.data', '.tools', '.git'];
/** Citations of the team's internal contract, which users never see. */
const OUTSIDE_CITATIONS = ['SPEC.md', '../shared'];

// ---------------------------------------------------------------------------------------------
// Markdown helpers (pure, so the checks below can be shown to fail on broken input)

/** The lines of a Markdown text outside fenced code blocks, with their 1-based line numbers. */
export function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, index) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (marker) {
      const kind = marker[1];
      if (fence === undefined) fence = kind;
      else if (kind[0] === fence[0] && kind.length >= fence.length) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line: index + 1, text: line });
  });
  return out;
}

/** Inline links `[text](target)` and images, outside code. Returns the raw targets. */
export function linksOf(text: string): { line: number; target: string }[] {
  const links: { line: number; target: string }[] = [];
  for (const { line, text: raw } of proseLines(text)) {
    const withoutCode = raw.replace(/(`+)[^`]*?\1/g, (span) => ' '.repeat(span.length));
    for (const match of withoutCode.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ line, target: match[1].replace(/^<|>$/g, '') });
    }
  }
  return links;
}

/** GitHub's heading slug: lowercase, punctuation removed except `-` and `_`, spaces to `-`. */
export function slugOf(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '').replace(/\s/g, '-');
}

/** Every anchor a Markdown file offers: its headings' slugs (with -1, -2 … for repeats), and HTML ids. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text: line } of proseLines(text)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const slug = slugOf(heading[1]);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const id of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id[1]);
  }
  return anchors;
}

/** How `wc -l` counts: newline characters. */
export function lineCount(text: string): number {
  return (text.match(/\n/g) ?? []).length;
}

/** How the link check sees files: the disk, or a fake one in the checks' own tests. */
export interface Files {
  exists(path: string): boolean;
  isDirectory(path: string): boolean;
  read(path: string): string;
}

const diskFiles: Files = {
  exists: (path) => existsSync(path),
  isDirectory: (path) => statSync(path).isDirectory(),
  read: (path) => readFileSync(path, 'utf8'),
};

/** The problems with the relative links of one Markdown file (`file` is relative to `repo`). */
export function linkProblems(file: string, text: string, repo: string, fs: Files = diskFiles): string[] {
  const problems: string[] = [];
  for (const { line, target } of linksOf(text)) {
    const where = `${file}:${line}: (${target})`;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue; // https:, mailto:, …
    const hash = target.indexOf('#');
    const pathPart = decodeURI(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const absolute = pathPart === '' ? join(repo, file) : resolve(repo, dirname(file), pathPart);
    const inRepo = relative(repo, absolute);
    if (inRepo.startsWith('..') || resolve(repo, inRepo) !== absolute) {
      problems.push(`${where} leads outside the repository`);
      continue;
    }
    if (NOT_IN_REPO.includes(inRepo.split(sep)[0])) {
      problems.push(`${where} leads to ${inRepo}, which is not part of the repository`);
      continue;
    }
    if (pathPart !== '' && !fs.exists(absolute)) {
      problems.push(`${where} leads to ${inRepo}, which does not exist`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!absolute.endsWith('.md') || (pathPart !== '' && fs.isDirectory(absolute))) {
      problems.push(`${where} has an anchor, but ${inRepo} is not a Markdown file`);
      continue;
    }
    const targetText = pathPart === '' ? text : fs.read(absolute);
    if (!anchorsOf(targetText).has(anchor)) {
      problems.push(`${where}: ${inRepo} has no heading with the anchor #${anchor}`);
    }
  }
  return problems;
}

/** The places in `text` that cite one of `needles`. */
export function citations(file: string, text: string, needles: readonly string[]): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (needles.some((needle) => line.includes(needle))) found.push(`${file}:${index + 1}: ${line.trim()}`);
  });
  return found;
}

// ---------------------------------------------------------------------------------------------
// The repository

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  const absolute = join(root, dir);
  if (!existsSync(absolute)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(absolute, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path, keep));
    else if (entry.isFile() && keep(entry.name)) out.push(path);
  }
  return out.sort();
}

const markdownFiles = ['README.md', ...filesUnder('docs', (name) => name.endsWith('.md'))];
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const isText = (name: string) => !/\.(png|jpe?g|gif|ico|db|sqlite|wasm|gz|zip)$/i.test(name);

describe('docs links', () => {
  it('finds the README and the docs folder', () => {
    assert.ok(existsSync(join(root, 'README.md')), 'README.md is missing');
    assert.ok(markdownFiles.includes(join('docs', 'README.md')), 'docs/README.md (the index) is missing');
  });

  it('every relative link in README.md and docs/ resolves to a file, and every #anchor to a heading', () => {
    const problems = markdownFiles.flatMap((file) => linkProblems(file, read(file), root));
    assert.deepEqual(problems, [], `broken links:\n${problems.join('\n')}`);
  });

  it(`README.md has at most ${README_MAX_LINES} lines`, () => {
    const lines = lineCount(read('README.md'));
    assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines; move detail into docs/`);
  });

  it('README.md and docs/ cite no document outside the repository', () => {
    const found = markdownFiles.flatMap((file) => citations(file, read(file), [...OUTSIDE_CITATIONS, 'SPEC']));
    assert.deepEqual(found, [], `cite docs/semantics.md instead:\n${found.join('\n')}`);
  });
});

test('src/ and examples/ cite no document outside the repository', () => {
  const files = [...filesUnder('src', isText), ...filesUnder('examples', isText)];
  assert.ok(files.length > 0, 'no files found under src/ and examples/');
  const found = files.flatMap((file) => citations(file, read(file), OUTSIDE_CITATIONS));
  assert.deepEqual(found, [], `cite docs/semantics.md instead:\n${found.join('\n')}`);
});

test('code comments cite "docs/semantics.md §N", not "SPEC §N"', () => {
  const found = filesUnder('src', isText).flatMap((file) => citations(file, read(file), ['SPEC §', 'SPEC semantics']));
  assert.equal(found.length, 0, `${found.length} citations, for example:\n${found.slice(0, 5).join('\n')}`);
});

// ---------------------------------------------------------------------------------------------
// The checks themselves catch what they should (so a passing run means something)

describe('docs link checks catch', () => {
  const docs = {
    'docs/a.md': '# Page A\n\n## 7. Agent results\n\n## Why `when`?\n\n## Twice\n\n## Twice\n',
  } as Record<string, string>;
  const key = (path: string) => relative(root, path).split(sep).join('/');
  const fake: Files = {
    exists: (path) => key(path) in docs || diskFiles.exists(path),
    isDirectory: (path) => !(key(path) in docs) && diskFiles.isDirectory(path),
    read: (path) => docs[key(path)] ?? diskFiles.read(path),
  };
  const check = (text: string) => linkProblems(join('docs', 'b.md'), text, root, fake);

  it('slugs headings as GitHub does', () => {
    assert.equal(slugOf('7. Agent results'), '7-agent-results');
    assert.equal(slugOf('Conditions (`when`)'), 'conditions-when');
    assert.equal(slugOf('`temporal-dev.sh`'), 'temporal-devsh');
    assert.equal(slugOf('Example: a Python agent (temporalio SDK 1.x)'), 'example-a-python-agent-temporalio-sdk-1x');
    assert.equal(slugOf('snake_case and-dash'), 'snake_case-and-dash');
    assert.deepEqual([...anchorsOf(docs['docs/a.md'])], ['page-a', '7-agent-results', 'why-when', 'twice', 'twice-1']);
  });

  it('a link to a missing file', () => {
    assert.equal(check('[x](no-such-page.md)').length, 1);
    assert.deepEqual(check('[x](../README.md) [y](semantics.md)'), []);
  });

  it('a link to a missing anchor, in the same file or another', () => {
    assert.equal(check('[x](#nowhere)\n\n# Here').length, 1);
    assert.deepEqual(check('[x](#here)\n\n# Here'), []);
    const problems = check('[x](a.md#6-dispatch) [y](a.md#7-agent-results)');
    assert.equal(problems.length, 1);
    assert.match(problems[0], /no heading with the anchor #6-dispatch/);
  });

  it('a link outside the repository or into generated files', () => {
    assert.equal(check('[x](../../shared/SPEC.md)').length, 1);
    assert.equal(check('[x](../dist/src/engine/index.js)').length, 1);
  });

  it('not links in code, and not external links', () => {
    assert.deepEqual(check('`[x](missing.md)`\n\n```\n[y](missing.md)\n```\n[z](https://temporal.io/#x)'), []);
  });

  it('a README that is too long, and citations of the internal contract', () => {
    assert.ok(lineCount('a\n'.repeat(README_MAX_LINES + 1)) > README_MAX_LINES);
    assert.equal(citations('f', 'see SPEC.md §7\nor ../shared/x\nfine', OUTSIDE_CITATIONS).length, 2);
  });
});
