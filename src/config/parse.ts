import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Node } from "yaml";
import type { ConfigIssue, SourceLocation } from "../issues.js";

/** One YAML (or JSON) document of a rules file, as plain data plus a way back to its source. */
export interface ParsedDocument {
  file: string;
  /** 0-based position of the document in its file (multi-document YAML). */
  index: number;
  value: unknown;
  /** Where `path` is written; the nearest written ancestor when the field itself is absent. */
  locate(path: readonly (string | number)[]): SourceLocation;
}

export type ParseResult =
  | { ok: true; documents: ParsedDocument[] }
  | { ok: false; issues: ConfigIssue[] };

/**
 * Parses a rules file. JSON is parsed by the same YAML parser (JSON is YAML 1.2),
 * so both get line:col positions. Any syntax error fails the whole file: the caller
 * keeps the file's last good version, since half a file could silently drop routes.
 */
export function parseRulesFile(file: string, text: string): ParseResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number): { line: number; col: number } => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, col: pos.col };
  };
  // `parseAllDocuments` returns an EmptyStream (array-like, no documents) for empty input.
  const list = Array.isArray(docs) ? docs : [];
  const issues: ConfigIssue[] = [];
  for (const doc of list) {
    for (const err of doc.errors) {
      issues.push({
        severity: "error",
        code: "yaml-syntax",
        message: firstLine(err.message),
        file,
        ...position(err.pos[0]),
      });
    }
  }
  if (issues.length > 0) return { ok: false, issues };

  const documents: ParsedDocument[] = [];
  list.forEach((doc, index) => {
    const root = doc.contents;
    if (root === null) return; // an empty document between `---` separators
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    documents.push({
      file,
      index,
      value,
      locate: (path) => ({ file, ...position(offsetOf(root, path)) }),
    });
  });
  return { ok: true, documents };
}

function firstLine(message: string): string {
  return message.split("\n", 1)[0] ?? message;
}

/** Offset of the node at `path`, or of the deepest existing ancestor. */
function offsetOf(root: Node, path: readonly (string | number)[]): number {
  let node: unknown = root;
  let best = root.range?.[0] ?? 0;
  for (const part of path) {
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(part));
      if (!pair) break;
      // Point at the key: `pathType: Foo` is reported at `pathType`, which is also
      // where a reader looks for a missing or misspelled child.
      if (isScalar(pair.key) && pair.key.range) best = pair.key.range[0];
      next = pair.value;
    } else if (isSeq(node) && typeof part === "number") {
      next = node.items[part];
      const range = (next as Node | undefined)?.range;
      if (range) best = range[0];
    } else {
      break;
    }
    if (next === null || next === undefined) break;
    node = next;
  }
  return best;
}
