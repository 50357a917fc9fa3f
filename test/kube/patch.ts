/** The patch types the test API server applies to a stored object. */

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch: objects merge, null removes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class PatchError extends Error {}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new PatchError(`invalid JSON pointer: ${path}`);
  return path
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** The container of the pointer's last token, and that token. */
function parentOf(doc: Json, tokens: string[]): [Record<string, Json> | Json[], string] {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
    if (cur === undefined) throw new PatchError(`path not found: /${tokens.join("/")}`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new PatchError(`path not found: /${tokens.join("/")}`);
  return [cur, tokens[tokens.length - 1]!];
}

function read(doc: Json, tokens: string[]): Json {
  if (tokens.length === 0) return doc;
  const [c, t] = parentOf(doc, tokens);
  const v = Array.isArray(c) ? c[Number(t)] : c[t];
  if (v === undefined) throw new PatchError(`path not found: /${tokens.join("/")}`);
  return v;
}

function removeAt(doc: Json, tokens: string[]): Json {
  const [c, t] = parentOf(doc, tokens);
  const v = read(doc, tokens);
  if (Array.isArray(c)) c.splice(Number(t), 1);
  else delete c[t];
  return v;
}

function addAt(doc: Json, tokens: string[], value: Json): Json {
  if (tokens.length === 0) return value;
  const [c, t] = parentOf(doc, tokens);
  if (Array.isArray(c)) {
    const i = t === "-" ? c.length : Number(t);
    if (!Number.isInteger(i) || i < 0 || i > c.length) throw new PatchError(`index out of range: ${t}`);
    c.splice(i, 0, value);
  } else c[t] = value;
  return doc;
}

/** RFC 6902 JSON patch (add, remove, replace, move, copy, test) on a copy of `target`. */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError("a JSON patch is an array of operations");
  let doc = structuredClone(target);
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== "string" || typeof op.path !== "string") throw new PatchError("invalid operation");
    const path = pointer(op.path);
    switch (op.op) {
      case "add":
        doc = addAt(doc, path, structuredClone(op.value));
        break;
      case "remove":
        removeAt(doc, path);
        break;
      case "replace":
        read(doc, path);
        if (path.length === 0) doc = structuredClone(op.value);
        else {
          removeAt(doc, path);
          doc = addAt(doc, path, structuredClone(op.value));
        }
        break;
      case "move":
      case "copy": {
        const from = pointer(String(op.from));
        const v = op.op === "move" ? removeAt(doc, from) : structuredClone(read(doc, from));
        doc = addAt(doc, path, v);
        break;
      }
      case "test":
        if (JSON.stringify(read(doc, path)) !== JSON.stringify(op.value)) throw new PatchError(`test failed: ${op.path}`);
        break;
      default:
        throw new PatchError(`unknown operation: ${op.op}`);
    }
  }
  return doc;
}
