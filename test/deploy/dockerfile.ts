/**
 * A Dockerfile read into stages and instructions, enough to check it offline: comments and
 * parser directives dropped, continuation lines joined, `ARG` defaults before the first `FROM`
 * substituted into the `FROM` lines.
 */

/** One instruction: its keyword (upper case), its arguments as written, its first line. */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

/** One build stage: its base image (ARGs substituted), its name, its instructions after FROM. */
export interface Stage {
  readonly name: string;
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

/** The instructions of a Dockerfile, in order. */
export function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    // Comments (and parser directives) are whole lines starting with #, even inside a continuation.
    if (trimmed.startsWith('#')) return;
    if (current === undefined && trimmed === '') return;
    const continues = /\\\s*$/.test(raw);
    const piece = continues ? raw.replace(/\\\s*$/, '') : raw;
    current = current === undefined ? { text: piece.trim(), line: i + 1 } : { text: `${current.text} ${piece.trim()}`, line: current.line };
    if (!continues) {
      const m = /^(\S+)\s*(.*)$/.exec(current.text);
      if (m !== null) out.push({ keyword: (m[1] ?? '').toUpperCase(), args: (m[2] ?? '').trim(), line: current.line });
      current = undefined;
    }
  });
  return out;
}

/** The stages of a Dockerfile; global ARG defaults are substituted into each FROM. */
export function parseStages(text: string): Stage[] {
  const globals = new Map<string, string>();
  const stages: { name: string; from: string; instructions: Instruction[] }[] = [];
  for (const ins of parseInstructions(text)) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const image = (words[0] ?? '').replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => globals.get(a ?? b ?? '') ?? '');
      const asAt = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ name: asAt >= 0 ? (words[asAt + 1] ?? '') : String(stages.length), from: image, instructions: [] });
    } else if (stages.length === 0) {
      const m = /^(\w+)(?:=(.*))?$/.exec(ins.keyword === 'ARG' ? ins.args : '');
      if (m !== null) globals.set(m[1] ?? '', (m[2] ?? '').replace(/^"(.*)"$/, '$1'));
    } else {
      stages[stages.length - 1]?.instructions.push(ins);
    }
  }
  return stages;
}

/** A COPY or ADD: its flags (`--from`, `--chmod`…), its sources and its destination. */
export interface CopySpec {
  readonly flags: ReadonlyMap<string, string>;
  readonly sources: readonly string[];
  readonly destination: string;
}

/** Reads `COPY [--flag=value…] SRC… DEST` (shell form, or the JSON array form). */
export function parseCopy(args: string): CopySpec {
  const flags = new Map<string, string>();
  let rest = args;
  for (let m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest); m !== null; m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest)) {
    flags.set(m[1] ?? '', m[2] ?? '');
    rest = rest.slice(m[0].length);
  }
  const words = rest.trim().startsWith('[') ? (JSON.parse(rest) as string[]) : rest.trim().split(/\s+/);
  return { flags, sources: words.slice(0, -1), destination: words[words.length - 1] ?? '' };
}
