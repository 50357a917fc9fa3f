import type { OutgoingHttpHeaders } from "node:http";
import type { HeaderChanges } from "../../model/route.js";

/** A filter's header changes with their names lower-cased once, for case-insensitive matching per request. */
export interface CompiledHeaderChanges {
  /** [lower-case name, name as written, value] */
  readonly set: readonly (readonly [string, string, string])[];
  readonly add: readonly (readonly [string, string, string])[];
  readonly remove: ReadonlySet<string>;
}

export function compileHeaderChanges(c: HeaderChanges, keep?: string): CompiledHeaderChanges {
  const named = ([n, v]: readonly [string, string]) => [n.toLowerCase(), n, v] as const;
  const remove = new Set(c.remove.map((n) => n.toLowerCase()));
  if (keep !== undefined) remove.delete(keep);
  return { set: c.set.map(named), add: c.add.map(named), remove };
}

/**
 * A flat `[name, value, …]` header list (what goes upstream) changed: `set` replaces every
 * header of its name, `add` appends its value to the last one of its name (`a,b`, as Envoy
 * appends) or adds the header, `remove` drops them; in that order, as Gateway API orders them.
 * The list is the request's own: it may be changed in place.
 */
export function changeHeaderList(headers: string[], c: CompiledHeaderChanges): string[] {
  let out = headers;
  if (c.set.length > 0 || c.remove.size > 0) {
    out = [];
    for (let i = 0; i < headers.length; i += 2) {
      const lower = headers[i]!.toLowerCase();
      if (c.remove.has(lower) || c.set.some((s) => s[0] === lower)) continue;
      out.push(headers[i]!, headers[i + 1]!);
    }
    // A removed name that is also set or added is removed last, so it is left out.
    for (const [lower, name, value] of c.set) if (!c.remove.has(lower)) out.push(name, value);
  }
  for (const [lower, name, value] of c.add) {
    if (c.remove.has(lower)) continue;
    let last = -1;
    for (let i = 0; i < out.length; i += 2) if (out[i]!.toLowerCase() === lower) last = i;
    if (last === -1) out.push(name, value);
    else out[last + 1] = `${out[last + 1]!},${value}`;
  }
  return out;
}

/**
 * Response headers (Node's lower-case-keyed object) changed the same way. A list value
 * (Set-Cookie) gets an added value as one more item, each cookie being its own header.
 */
export function changeHeaderObject(headers: OutgoingHttpHeaders, c: CompiledHeaderChanges): void {
  for (const [lower, , value] of c.set) headers[lower] = value;
  for (const [lower, , value] of c.add) {
    const prev = headers[lower];
    headers[lower] = prev === undefined ? value : Array.isArray(prev) ? [...(prev as string[]), value] : `${String(prev)},${value}`;
  }
  for (const lower of c.remove) delete headers[lower];
}
