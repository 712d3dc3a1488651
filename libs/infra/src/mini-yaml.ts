/**
 * A small YAML reader for the subset docker-compose.kafka.yml uses (so the
 * compose parity test needs no YAML dependency): block mappings and
 * sequences by indentation, plain/single/double-quoted scalars, flow
 * sequences of scalars (`["a", "b"]`), `|` / `>` block scalars, comments.
 * Scalars stay strings (no number/boolean typing). Anchors, tags,
 * multi-documents and flow mappings are rejected, not guessed.
 */
export type YamlValue = string | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  no: number;
}

function stripComment(s: string): string {
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) {
      return s.slice(0, i).trimEnd();
    }
  }
  return s.trimEnd();
}

function scalar(raw: string, no: number): YamlValue {
  const s = raw.trim();
  if (s === '' || s === '~' || s === 'null') return null;
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new Error(`line ${no}: unterminated string`);
    return JSON.parse(s) as string;
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new Error(`line ${no}: unterminated string`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) throw new Error(`line ${no}: unsupported multi-line flow sequence`);
    const inner = s.slice(1, -1).trim();
    if (inner === '') return [];
    const items: string[] = [];
    let cur = '';
    let quote: string | null = null;
    for (const c of inner) {
      if (quote) {
        cur += c;
        if (c === quote) quote = null;
      } else if (c === '"' || c === "'") {
        quote = c;
        cur += c;
      } else if (c === ',') {
        items.push(cur);
        cur = '';
      } else cur += c;
    }
    items.push(cur);
    return items.map((i) => scalar(i, no));
  }
  if (/^[{&*!|>]/.test(s)) throw new Error(`line ${no}: unsupported YAML construct "${s}"`);
  return s;
}

/** Index of the `: ` (or final `:`) separating a mapping key, outside quotes; -1 if none. */
function keySeparator(s: string): number {
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ':' && (i === s.length - 1 || s[i + 1] === ' ')) return i;
  }
  return -1;
}

export function parseYaml(source: string): YamlValue {
  const rawLines = source.replace(/\r\n/g, '\n').split('\n');
  let pos = 0;

  function nextContent(): Line | undefined {
    while (pos < rawLines.length) {
      const raw = rawLines[pos]!;
      if (/^\s*\t/.test(raw)) throw new Error(`line ${pos + 1}: tab indentation`);
      const text = stripComment(raw);
      if (text.trim() === '' || text.trim() === '---') {
        pos++;
        continue;
      }
      return { indent: text.length - text.trimStart().length, text: text.trim(), no: pos + 1 };
    }
    return undefined;
  }

  function blockScalar(style: string, parentIndent: number): string {
    const lines: string[] = [];
    let indent = -1;
    while (pos < rawLines.length) {
      const raw = rawLines[pos]!;
      if (raw.trim() === '') {
        lines.push('');
        pos++;
        continue;
      }
      const ind = raw.length - raw.trimStart().length;
      if (ind <= parentIndent) break;
      if (indent < 0) indent = ind;
      lines.push(raw.slice(Math.min(indent, ind)));
      pos++;
    }
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    const keep = style.includes('-') ? '' : '\n';
    return style.startsWith('>') ? lines.join(' ').replace(/ {2,}/g, ' ') + keep : lines.join('\n') + keep;
  }

  /** The value after `key:` or `- ` on a line whose indentation is `indent`. */
  function inlineOrNested(rest: string, indent: number): YamlValue {
    const r = rest.trim();
    if (r.startsWith('|') || r.startsWith('>')) return blockScalar(r, indent);
    if (r !== '') return scalar(r, pos);
    const next = nextContent();
    if (!next || next.indent < indent || (next.indent === indent && !next.text.startsWith('- '))) return null;
    return block(next.indent);
  }

  function block(indent: number): YamlValue {
    const first = nextContent()!;
    if (first.text.startsWith('- ') || first.text === '-') {
      const list: YamlValue[] = [];
      for (let line = nextContent(); line && line.indent === indent && (line.text.startsWith('- ') || line.text === '-'); line = nextContent()) {
        pos++;
        const rest = line.text.slice(1).trim();
        if (keySeparator(rest) > 0 && !/^["'[]/.test(rest)) {
          throw new Error(`line ${line.no}: mappings inside sequences are not supported`);
        }
        list.push(inlineOrNested(rest, indent));
      }
      return list;
    }
    const map: { [key: string]: YamlValue } = {};
    for (let line = nextContent(); line && line.indent === indent; line = nextContent()) {
      const sep = keySeparator(line.text);
      if (sep <= 0) throw new Error(`line ${line.no}: expected "key: value", got "${line.text}"`);
      const key = String(scalar(line.text.slice(0, sep), line.no));
      pos++;
      if (key in map) throw new Error(`line ${line.no}: duplicate key ${key}`);
      map[key] = inlineOrNested(line.text.slice(sep + 1), indent);
    }
    const after = nextContent();
    if (after && after.indent > indent) throw new Error(`line ${after.no}: unexpected indentation`);
    return map;
  }

  const first = nextContent();
  if (!first) return null;
  const doc = block(first.indent);
  const rest = nextContent();
  if (rest) throw new Error(`line ${rest.no}: unexpected content`);
  return doc;
}
