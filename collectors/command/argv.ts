/**
 * Splits a configured command line into argv without a shell. Words are separated by spaces or tabs.
 * '...' keeps everything inside as it is; "..." too, except that \" and \\ stand for " and \.
 * Quoted and unquoted parts next to each other make one word (a"b c"d is `ab cd`); "" is an empty
 * word. Nothing else is special: no $variables, globs, pipes, redirections or ~.
 * Returns the words, or why the line cannot be split (an unbalanced quote).
 */
export function splitCommandLine(line: string): { words: string[] } | { problem: string } {
  const words: string[] = [];
  let word: string | undefined;
  let index = 0;
  while (index < line.length) {
    const character = line[index];
    if (character === ' ' || character === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
      index += 1;
    } else if (character === "'" || character === '"') {
      const start = index;
      index += 1;
      let part = '';
      while (index < line.length && line[index] !== character) {
        if (character === '"' && line[index] === '\\' && (line[index + 1] === '"' || line[index + 1] === '\\')) index += 1;
        part += line[index];
        index += 1;
      }
      if (index >= line.length) return { problem: `the ${character === '"' ? 'double' : 'single'} quote at character ${start + 1} is never closed` };
      index += 1;
      word = (word ?? '') + part;
    } else {
      word = (word ?? '') + character;
      index += 1;
    }
  }
  if (word !== undefined) words.push(word);
  return { words };
}
