// JSON a user writes (experiment configs): JSON.parse, with the place of a
// syntax error as line and column, and a key given twice in one object refused
// (JSON.parse keeps the last silently, so `"seeds": 5, ..., "seeds": 1` would
// run one seed without a word).

import { IalpError } from './options.js';

/** Line and column (1-based) of a character offset of `text`. */
function lineCol(text: string, offset: number): string {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

/** The value of `text`, JSON; errors name `what` (a file) and the place. */
export function parseJsonStrict(text: string, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const at = /position (\d+)/.exec(msg);
    throw new IalpError(`${what}: invalid JSON${at ? ` at ${lineCol(text, Number(at[1]))}` : ''}: ${msg}`);
  }
  const dup = duplicateKey(text);
  if (dup) {
    throw new IalpError(`${what}: key "${dup.key}" appears twice in ${dup.path || 'the top-level object'} (${lineCol(text, dup.at)}; first at ${lineCol(text, dup.first)}): each key once, please`);
  }
  return value;
}

interface Frame { keys: Map<string, number> | null; path: string; index: number; key: string | null }

/** The first key that appears twice in one object of `text` (valid JSON), with
 * the object's path (`pretrain`, `sweep`, `llm[1]`) and both keys' offsets. */
export function duplicateKey(text: string): { key: string; path: string; at: number; first: number } | null {
  const stack: Frame[] = [];
  let expectKey = false;
  const here = () => stack[stack.length - 1];
  const childPath = () => {
    const f = here();
    if (!f) return '';
    if (f.keys === null) return `${f.path}[${f.index}]`;
    return f.path ? `${f.path}.${f.key}` : (f.key ?? '');
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      const f = here();
      if (expectKey && f?.keys) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        const first = f.keys.get(key);
        if (first !== undefined) return { key, path: f.path, at: start, first };
        f.keys.set(key, start);
        f.key = key;
        expectKey = false;
      }
    } else if (c === '{' || c === '[') {
      stack.push({ keys: c === '{' ? new Map() : null, path: childPath(), index: 0, key: null });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const f = here();
      if (f?.keys) expectKey = true;
      else if (f) f.index++;
    }
  }
  return null;
}
