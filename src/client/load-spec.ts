/**
 * Reading plan files: JSON (`.json`) or YAML (`.yaml`, `.yml`; any other extension is read as YAML,
 * which is a superset of JSON). Only the syntax is checked here; `validatePlanSpecWithSchemas` checks
 * the content. A syntax error throws `PlanFileError` with the file, line and column.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';

export class PlanFileError extends Error {
  /** The file as given by the caller. */
  readonly file: string;
  /** 1-based position of the problem, when there is one. */
  readonly line?: number;
  readonly column?: number;
  /** The offending line with a caret under the column, for terminals. */
  readonly snippet?: string;

  constructor(file: string, reason: string, position?: { line: number; column: number; snippet?: string }, options?: { cause?: unknown }) {
    const where = position ? `${file}:${position.line}:${position.column}` : file;
    super(`${where}: ${reason}`, options);
    this.name = 'PlanFileError';
    this.file = file;
    this.line = position?.line;
    this.column = position?.column;
    this.snippet = position?.snippet;
  }
}

export type PlanFileFormat = 'json' | 'yaml';

/** `.json` → JSON; `.yaml`, `.yml` and anything else → YAML. */
export function planFileFormat(filename: string): PlanFileFormat {
  return extname(filename).toLowerCase() === '.json' ? 'json' : 'yaml';
}

export function loadPlanFile(path: string): { raw: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'this is a directory, not a plan file'
          : `cannot read the file (${e instanceof Error ? e.message : String(e)})`;
    throw new PlanFileError(path, reason, undefined, { cause: e });
  }
  return parsePlanText(text, path);
}

/** Parses a plan document; `filename` picks the format (see `planFileFormat`) and names it in errors. */
export function parsePlanText(text: string, filename: string): { raw: unknown } {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const raw = planFileFormat(filename) === 'json' ? parseJson(source, filename) : parseYaml(source, filename);
  if (raw === undefined || raw === null) {
    throw new PlanFileError(filename, 'the file is empty: a plan file holds one plan (id, nodes, edges, …)');
  }
  return { raw };
}

function parseJson(text: string, file: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    // V8's messages do not always carry a position (Node 20: "Unexpected token '}', … is not valid
    // JSON"), so find the first error with a small scanner that speaks plain words.
    const found = locateJsonError(text);
    const reason = found?.reason ?? (e instanceof Error ? e.message : String(e));
    throw new PlanFileError(file, `JSON syntax error: ${reason}`, found ? positionOf(text, found.offset) : undefined, { cause: e });
  }
}

/** The first syntax error of a JSON text (offset and reason), or undefined if it is valid JSON. */
export function locateJsonError(text: string): { offset: number; reason: string } | undefined {
  let i = 0;
  class Stop {
    constructor(readonly offset: number, readonly reason: string) {}
  }
  const fail = (reason: string, at = i): never => {
    throw new Stop(at, reason);
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const describe = () => (i >= text.length ? 'the end of the file' : `'${text[i]}'`);
  const missingComma = () => (text[i] === '"' || text[i] === '{' || text[i] === '[' ? ' (a missing comma?)' : '');
  const string = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape in a string');
          i += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
          i += 2;
        } else {
          fail(`bad escape "\\${next ?? ''}" in a string`);
        }
      } else if (text.charCodeAt(i) < 0x20) {
        fail('a string cannot contain a line break or control character (use \\n)');
      } else {
        i++;
      }
    }
    if (i >= text.length) fail('a string is not closed with "', start);
    i++;
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] === '}') fail('trailing comma before "}"');
        if (text[i] !== '"') fail(`expected a property name in double quotes, found ${describe()}`);
        string();
        space();
        if (text[i] !== ':') fail(`expected ":" after the property name, found ${describe()}`);
        i++;
        value();
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected "," or "}" after a property value, found ${describe()}${missingComma()}`);
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] === ']') fail('trailing comma before "]"');
        value();
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected "," or "]" after a list item, found ${describe()}${missingComma()}`);
      }
    }
    if (c === '"') return string();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
    if (literal) {
      i += literal[0].length;
      return;
    }
    fail(`expected a value, found ${describe()}`);
  };
  try {
    value();
    space();
    if (i < text.length) fail(`unexpected ${describe()} after the end of the document`);
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return { offset: e.offset, reason: e.reason };
    throw e;
  }
}

const YAML_HINTS: Record<string, string> = {
  MULTIPLE_DOCS: 'the file holds more than one YAML document (a line with ---); a plan file holds exactly one plan',
  DUPLICATE_KEY: 'the same key appears twice in one mapping',
  TAB_AS_INDENT: 'tabs are not allowed for indentation in YAML; indent with spaces',
};

function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    let reason = YAML_HINTS[first.code] ?? first.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
    const key = first.code === 'DUPLICATE_KEY' ? /^["']?([^"':\n]+)/.exec(text.slice(first.pos[0]))?.[1] : undefined;
    if (key) reason = `the key "${key.trim()}" appears twice in one mapping`;
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more syntax error${doc.errors.length > 2 ? 's' : ''} after it)` : '';
    const offset = first.pos[0];
    throw new PlanFileError(file, `YAML syntax error: ${reason}${more}`, positionOf(text, offset), { cause: first });
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (e) {
    throw new PlanFileError(file, `YAML error: ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e });
  }
}

/** 1-based line and column of a character offset, plus the line with a caret. */
function positionOf(text: string, offset: number): { line: number; column: number; snippet: string } {
  const clamped = Math.max(0, Math.min(offset, text.length));
  const before = text.slice(0, clamped);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const column = clamped - lineStart + 1;
  const lineEnd = text.indexOf('\n', lineStart);
  const lineText = text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd).replace(/\r$/, '');
  return { line, column, snippet: `${lineText}\n${' '.repeat(Math.max(0, column - 1))}^` };
}
