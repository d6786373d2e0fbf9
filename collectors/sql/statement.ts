/**
 * The read-only guard for configured SQL: a statement must be one SELECT (optionally led by WITH),
 * without locking reads or INTO. This is the first line of defence; the session itself is also
 * made read-only (see database.ts), and the account should only have SELECT grants.
 */

/** Blanks out comments, string literals and quoted identifiers so keywords are only found in code. */
export function codeOnly(sql: string): string {
  let out = '';
  let index = 0;
  while (index < sql.length) {
    const rest = sql.slice(index);
    const char = sql[index];
    let end = -1;
    if (rest.startsWith('--') || char === '#') {
      end = sql.indexOf('\n', index);
      if (end === -1) end = sql.length;
    } else if (rest.startsWith('/*')) {
      end = sql.indexOf('*/', index + 2);
      end = end === -1 ? sql.length : end + 2;
    } else if (char === "'" || char === '"' || char === '`') {
      end = index + 1;
      while (end < sql.length) {
        if (sql[end] === '\\' && char !== '`') end += 2;
        else if (sql[end] === char && sql[end + 1] === char) end += 2;
        else if (sql[end] === char) break;
        else end += 1;
      }
      end = Math.min(end + 1, sql.length);
    }
    if (end === -1) {
      out += char;
      index += 1;
    } else {
      out += ' '; // a literal or comment still separates words
      index = end;
    }
  }
  return out;
}

/** Why `sql` is not an acceptable read-only statement, or undefined when it is. */
export function readOnlyViolation(sql: string): string | undefined {
  if (sql.includes('/*!') || sql.includes('/*M!')) return 'executable comments (/*! ... */) are not allowed';
  const code = codeOnly(sql).trim().replace(/;\s*$/, '');
  if (code.includes(';')) return 'only one statement is allowed';
  const firstWord = /^\(*\s*([A-Za-z]+)/.exec(code)?.[1]?.toUpperCase();
  if (firstWord !== 'SELECT' && firstWord !== 'WITH') return `only SELECT statements are allowed, got ${firstWord ?? 'nothing'}`;
  const forbidden: Array<[RegExp, string]> = [
    [/\bINTO\b/i, 'SELECT ... INTO writes to a file or variable'],
    [/\bFOR\s+UPDATE\b/i, 'FOR UPDATE takes write locks'],
    [/\bLOCK\s+IN\s+SHARE\s+MODE\b/i, 'LOCK IN SHARE MODE takes locks'],
  ];
  for (const [pattern, reason] of forbidden) if (pattern.test(code)) return reason;
  return undefined;
}
