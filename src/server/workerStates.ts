import type { LocalCaCertificates } from "../admin/configView.js";
import type { L4ListenerStatus } from "../l4/listeners.js";
import type { LocalCaLeaf } from "../proxy/certificateSelector.js";
import type { WorkerState } from "./workerMessages.js";

/**
 * The L4 listeners of `--workers N` as one: every worker opens the same ones (one
 * configuration), so the first worker's list says which and in what state, and the
 * connections are every worker's.
 */
export function mergedL4Status(states: readonly WorkerState[]): L4ListenerStatus[] {
  return (states[0]?.l4 ?? []).map((l) => ({ ...l, connections: states.reduce((n, s) => n + (s.l4.find((x) => x.id === l.id)?.connections ?? 0), 0) }));
}

/** The local CA's leaves the workers issued: each issues its own per host; the one that ends first is shown. */
export function mergedLocalCa(states: readonly WorkerState[]): LocalCaCertificates {
  const cas = states.flatMap((s) => (s.localCa ? [s.localCa] : []));
  if (cas.length === 0) return undefined;
  const byHost = new Map<string, LocalCaLeaf>();
  for (const leaf of cas.flatMap((ca) => ca.leaves)) {
    const notAfter = new Date(leaf.notAfter);
    const seen = byHost.get(leaf.host);
    if (!seen || notAfter < seen.notAfter) byHost.set(leaf.host, { ...leaf, notAfter });
  }
  return { certPath: cas[0]!.certPath, leaves: [...byHost.values()] };
}
